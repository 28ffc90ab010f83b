/*
 * main - the mailward daemon: options, start-up, serving, shutdown
 *
 * Start-up order matters: load and check the policy (errors are fatal and
 * name file:line), open the milter socket and anything else that needs
 * root, detach and write the pid file, drop root, open the services, then
 * start the reload thread and hand control to libmilter.  Everything that
 * can fail does so before the MTA is served.
 */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "common/log.h"
#include "common/suppression_cache.h"
#include "common/xalloc.h"
#include "milter/callbacks.h"
#include "milter/daemon.h"
#include "milter/endpoint.h"
#include "milter/history.h"
#include "milter/limits.h"
#include "milter/send_log.h"
#include "milter/reputation.h"
#include "milter/resolver.h"
#include "milter/services.h"
#include "milter/signals.h"
#include "milter/stats.h"
#include "policy/policy.h"
#include "policy/sample.h"
#include "tools/tools.h"

#ifndef MW_DEFAULT_POLICY
#define MW_DEFAULT_POLICY "/etc/mailward/mailward.conf"
#endif

struct options {
	const char *policy_path;
	const char *socket;   /* overrides daemon.socket */
	const char *user;     /* overrides daemon.user */
	const char *pid_file; /* overrides daemon.pid_file */
	bool foreground;
	bool check_only;
	bool log_stderr;
	bool debug;
};

static void
usage(FILE *out)
{
	fprintf(out,
	        "Usage: mailward [OPTION]...\n"
	        "       mailward SUBCOMMAND [ARGUMENT]...\n"
	        "A mail filter (milter) for Postfix and Sendmail: DKIM signing, aligned\n"
	        "envelope senders, bulk-mail headers and suppression for outbound mail;\n"
	        "SPF, DKIM and DMARC for inbound mail; bounces and complaints as\n"
	        "SES-shaped JSON events in a durable spool.\n"
	        "\n"
	        "Options:\n"
	        "  -c, --config FILE     policy file (default %s)\n"
	        "  -n, --check           check the policy file, print every problem as\n"
	        "                        FILE:LINE: SETTING: problem, and exit\n"
	        "  -f, --foreground      do not detach from the terminal\n"
	        "  -e, --log-stderr      log to standard error, whatever log.to says\n"
	        "  -d, --debug           log at debug level, whatever log.level says\n"
	        "  -p, --socket SPEC     listen on SPEC instead of daemon.socket:\n"
	        "                        unix:/path, inet:PORT@HOST or inet6:PORT@HOST\n"
	        "  -u, --user USER       run as USER instead of daemon.user\n"
	        "  -P, --pid-file FILE   write the process ID to FILE (locked while running)\n"
	        "      --dump-defaults   print a policy file with every setting, its\n"
	        "                        default and its documentation, and exit\n"
	        "      --dump-man        print the manual page mailward.conf(5), made\n"
	        "                        from the same table, in roff, and exit\n"
	        "  -h, --help            show this help and exit\n"
	        "  -V, --version         show the version and exit\n"
	        "\n"
	        "Signals:\n"
	        "  SIGHUP   reload the policy file. Messages in progress finish under the\n"
	        "           policy they started with. A file with errors is refused, its\n"
	        "           errors are logged, and the running policy stays. The socket,\n"
	        "           user, spool directory and dns section change at restart only.\n"
	        "  SIGTERM  stop accepting connections, finish those in progress, exit.\n"
	        "\n"
	        "Postfix (main.cf), for a daemon listening on inet:8891@127.0.0.1:\n"
	        "  smtpd_milters = inet:127.0.0.1:8891\n"
	        "  non_smtpd_milters = $smtpd_milters\n"
	        "  milter_default_action = tempfail\n"
	        "\n"
	        "Exit status: 0 on success, 64 for a usage error, 78 for a policy error,\n"
	        "69-73 when the system refuses something mailward needs (user, socket,\n"
	        "directories).\n"
	        "\n"
	        "Events: one JSON file per event in events.spool_dir/new (maildir-like),\n"
	        "made durable through events.spool_dir/journal before the MTA hears\n"
	        "the verdict; after a crash the next start republishes from the journal.\n"
	        "\n"
	        "Inbound mail gets one Authentication-Results header (spf, dkim, dmarc)\n"
	        "with the inbound.authserv_id; inbound.mode = enforce | monitor | off\n"
	        "decides whether failing DMARC policies are applied (550 5.7.1, hold).\n"
	        "A DMARC check that DNS could not decide takes failure.dns_temperror.\n"
	        "\n"
	        "Subcommands (each has its own help, e.g. mailward keygen -h):\n",
	        MW_DEFAULT_POLICY);
	tools_list(out);
}

static void
parse_options(int argc, char **argv, struct options *opt)
{
	enum { OPT_DUMP_DEFAULTS = 256, OPT_DUMP_MAN };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-stderr", no_argument, NULL, 'e' },
		{ "debug", no_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "pid-file", required_argument, NULL, 'P' },
		{ "dump-defaults", no_argument, NULL, OPT_DUMP_DEFAULTS },
		{ "dump-man", no_argument, NULL, OPT_DUMP_MAN },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(opt, 0, sizeof(*opt));
	opt->policy_path = MW_DEFAULT_POLICY;
	while ((c = getopt_long(argc, argv, "c:nfedp:u:P:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt->policy_path = optarg;
			break;
		case 'n':
			opt->check_only = true;
			break;
		case 'f':
			opt->foreground = true;
			break;
		case 'e':
			opt->log_stderr = true;
			break;
		case 'd':
			opt->debug = true;
			break;
		case 'p':
			opt->socket = optarg;
			break;
		case 'u':
			opt->user = optarg;
			break;
		case 'P':
			opt->pid_file = optarg;
			break;
		case OPT_DUMP_DEFAULTS:
			sample_write(stdout);
			exit(fflush(stdout) == 0 ? 0 : EX_IOERR);
		case OPT_DUMP_MAN:
			sample_write_man(stdout);
			exit(fflush(stdout) == 0 ? 0 : EX_IOERR);
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("mailward %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			fprintf(stderr, "Try 'mailward --help' for more information.\n");
			exit(EX_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mailward: unexpected argument \"%s\"\n", argv[optind]);
		fprintf(stderr, "Try 'mailward --help' for more information.\n");
		exit(EX_USAGE);
	}
}

/* Load the policy or say why not, one line per problem, on stderr. */
static struct policy *
load_or_report(const char *path)
{
	struct buf errors = BUF_INIT;
	struct policy *policy = policy_load(path, &errors);
	size_t problems = 0;

	if (policy == NULL) {
		for (const char *p = buf_str(&errors); *p; p++)
			problems += *p == '\n';
		fprintf(stderr, "%smailward: %s: %zu problem%s, policy refused\n", buf_str(&errors),
		        path, problems, problems == 1 ? "" : "s");
	}
	buf_free(&errors);
	return policy;
}

static void
apply_log_settings(const struct options *opt, const struct policy *policy)
{
	log_set_level(opt->debug ? LOG_LEVEL_DEBUG : (enum log_level)policy->log_level);
}

static void
warn_restart_only(const struct policy *old, const struct policy *new)
{
	if (strcmp(old->socket, new->socket) != 0)
		log_warning(NULL, "reload: daemon.socket changed; takes effect at restart");
	if (strcmp(old->user, new->user) != 0)
		log_warning(NULL, "reload: daemon.user changed; takes effect at restart");
	if (strcmp(old->spool_dir, new->spool_dir) != 0)
		log_warning(NULL, "reload: events.spool_dir changed; takes effect at restart");
	if (old->durability != new->durability ||
	    old->checkpoint_seconds != new->checkpoint_seconds)
		log_warning(NULL, "reload: events.durability or events.checkpoint_seconds changed; "
		                  "takes effect at restart");
	if (old->metrics_enabled != new->metrics_enabled ||
	    strcmp(old->metrics_listen, new->metrics_listen) != 0)
		log_warning(NULL, "reload: the metrics section changed; takes effect at restart");
	if (resolver_settings_differ(old, new))
		log_warning(NULL, "reload: the dns section (or inbound.mode off) changed; takes "
		                  "effect at restart");
}

/* What the running daemon holds from start-up to shutdown. */
struct daemon_state {
	const struct options *opt;
	char *socket_spec; /* copies: the snapshot they come from is freed by a reload */
	char *pid_path;
	int pid_fd;
	struct run_as who;
	struct services svc;
	struct reload_thread reloader;
	struct endpoint *endpoints[2]; /* unsubscribe and/or metrics */
};

/* SIGHUP: install a new snapshot, or keep the old one and say why. */
static void
reload_policy(void *arg)
{
	struct daemon_state *st = arg;
	const struct options *opt = st->opt;
	struct buf errors = BUF_INIT;
	struct policy *fresh = policy_load(opt->policy_path, &errors);
	struct policy *old;

	if (fresh == NULL) {
		char *line = errors.data, *next;
		for (; line != NULL && *line; line = next) {
			next = strchr(line, '\n');
			if (next != NULL)
				*next++ = '\0';
			log_error(NULL, "reload: %s", line);
		}
		log_error(NULL, "reload: %s refused; the running policy stays", opt->policy_path);
		stats_reload(st->svc.metrics, false);
		buf_free(&errors);
		return;
	}
	old = policy_acquire();
	if (old != NULL) {
		warn_restart_only(old, fresh);
		policy_release(old);
	}
	apply_log_settings(opt, fresh);
	policy_install(fresh);
	stats_reload(st->svc.metrics, true);
	log_notice(NULL, "reload: policy %s installed", opt->policy_path);
	buf_free(&errors);
}

static void
fatal_if(int failed, int status, const char *what, struct buf *err)
{
	if (failed)
		log_fatal(status, "fatal: %s: %s", what, buf_str(err));
}

/* Open the milter socket (as root, before detaching). */
static void
open_socket(const char *spec, const struct policy *policy)
{
	if (smfi_setconn((char *)spec) != MI_SUCCESS)
		log_fatal(EX_CONFIG, "fatal: invalid socket %s", spec);
	smfi_settimeout((int)policy->milter_timeout);
	smfi_setbacklog((int)policy->listen_backlog);
	umask(0177);
	if (smfi_opensocket(true) != MI_SUCCESS)
		log_fatal(EX_UNAVAILABLE, "fatal: cannot listen on %s (in use, or no permission?)",
		          spec);
	daemon_socket_nodelay();
	umask(0027);
}

/* Everything that needs root: the user, the socket, directories, pid file. */
static void
start_privileged(const struct options *opt, const struct policy *policy, struct daemon_state *st)
{
	struct buf err = BUF_INIT;

	st->socket_spec = xstrdup(opt->socket ? opt->socket : policy->socket);
	st->pid_path = xstrdup(opt->pid_file ? opt->pid_file : policy->pid_file);
	st->pid_fd = -1;
	fatal_if(daemon_lookup_user(opt->user ? opt->user : policy->user, &st->who, &err) < 0,
	         EX_NOUSER, "daemon.user", &err);
	if (smfi_register(*callbacks_filter(&st->svc)) != MI_SUCCESS)
		log_fatal(EX_SOFTWARE, "fatal: smfi_register failed");
	open_socket(st->socket_spec, policy);
	fatal_if(daemon_socket_access(st->socket_spec, &st->who, policy->socket_group,
	                              policy->socket_mode, &err) < 0,
	         EX_NOPERM, "socket", &err);
	fatal_if(daemon_prepare_dir(policy->spool_dir, &st->who, &err) < 0, EX_CANTCREAT,
	         "events.spool_dir", &err);
	fatal_if(daemon_prepare_parent_dir(policy->store_path, &st->who, &err) < 0, EX_CANTCREAT,
	         "store.path", &err);
	if (!opt->foreground)
		fatal_if(daemon_detach(&err) < 0, EX_OSERR, "detach", &err);
	if (*st->pid_path != '\0') {
		st->pid_fd = daemon_pid_file(st->pid_path, &err);
		fatal_if(st->pid_fd < 0, EX_CANTCREAT, "pid file", &err);
	}
	buf_free(&err);
}

/* The HTTP servers: unsubscribe links, metrics; one when they share an address. */
static void
start_http(const struct policy *policy, struct daemon_state *st)
{
	struct buf err = BUF_INIT;
	unsigned first = 0, second = 0;
	struct endpoint_limits limits = {
		.timeout = (unsigned)policy->unsubscribe_timeout,
		.max_connections = (unsigned)policy->unsubscribe_max_connections,
		.max_per_ip = (unsigned)policy->unsubscribe_max_per_ip,
	};

	if (*policy->unsubscribe_url != '\0')
		first = ENDPOINT_UNSUBSCRIBE;
	if (policy->metrics_enabled) {
		if (first != 0 && strcmp(policy->unsubscribe_listen, policy->metrics_listen) == 0)
			first |= ENDPOINT_METRICS;
		else
			second = ENDPOINT_METRICS;
	}
	if (first != 0) {
		st->endpoints[0] =
		    endpoint_start(first & ENDPOINT_UNSUBSCRIBE ? policy->unsubscribe_listen
		                                                : policy->metrics_listen,
		                   first, &limits, &st->svc, &err);
		fatal_if(st->endpoints[0] == NULL && err.len > 0, EX_CONFIG, "HTTP endpoint", &err);
	}
	if (second != 0) {
		st->endpoints[1] =
		    endpoint_start(policy->metrics_listen, second, &limits, &st->svc, &err);
		fatal_if(st->endpoints[1] == NULL && err.len > 0, EX_CONFIG, "metrics endpoint",
		         &err);
	}
	buf_free(&err);
}

/* Drop root, then open the services the message path uses. */
static void
start_services(const struct policy *policy, struct daemon_state *st)
{
	struct buf err = BUF_INIT;

	fatal_if(daemon_drop_privileges(&st->who, &err) < 0, EX_NOPERM, "daemon.user", &err);
	st->svc.spool =
	    spool_open(policy->spool_dir, (enum spool_durability)policy->durability, &err);
	fatal_if(st->svc.spool == NULL, EX_CANTCREAT, "events.spool_dir", &err);
	spool_set_checkpoint_interval(st->svc.spool, (unsigned)policy->checkpoint_seconds);
	struct store_options store_options;

	policy_store_options(policy, &store_options);
	st->svc.store = store_open_with(policy->store_path, &store_options, &err);
	fatal_if(st->svc.store == NULL, EX_CANTCREAT, "store.path", &err);
	if (store_options.backend == STORE_REDIS)
		log_notice(NULL, "store: shared state in redis %s (keys %s*), DMARC history in %s",
		           store_options.redis, store_options.redis_prefix, policy->store_path);
	/* RCPT-time lookups from memory (suppress.c), before the endpoint can write. */
	fatal_if(suppression_cache_start(st->svc.store, &err) < 0, EX_CANTCREAT, "store.path",
	         &err);
	st->svc.history = history_start(st->svc.store);
	st->svc.local_socket = daemon_socket_is_local(st->socket_spec);
	st->svc.limits = limits_new();
	st->svc.metrics = stats_new();
	start_http(policy, st);
	st->svc.send_log = send_log_start(st->svc.store);
	st->svc.reputation = reputation_start(st->svc.store, st->svc.spool);
	st->svc.resolver = resolver_open(policy, &err);
	fatal_if(st->svc.resolver == NULL && err.len > 0, EX_CONFIG, "dns", &err);
	stats_watch_dns(st->svc.resolver, st->svc.metrics);
	buf_free(&err);
}

static void
shutdown_daemon(struct daemon_state *st)
{
	signals_stop(&st->reloader);
	reputation_stop(st->svc.reputation); /* writes its last counts and events first */
	policy_uninstall();
	endpoint_stop(st->endpoints[0]); /* before what its requests use */
	endpoint_stop(st->endpoints[1]);
	spool_close(st->svc.spool);
	history_stop(st->svc.history);
	limits_free(st->svc.limits);
	send_log_stop(st->svc.send_log);
	store_close(st->svc.store);
	dns_resolver_free(st->svc.resolver);
	metrics_free(st->svc.metrics);
	daemon_remove_pid_file(st->pid_path, st->pid_fd);
	free(st->who.name);
	free(st->socket_spec);
	free(st->pid_path);
}

int
main(int argc, char **argv)
{
	struct options opt;
	struct policy *policy;
	struct daemon_state st = { .opt = &opt };
	int status;

	if (argc > 1 && argv[1][0] != '-')
		return tools_run(argc - 1, argv + 1);
	parse_options(argc, argv, &opt);
	policy = load_or_report(opt.policy_path);
	if (policy == NULL)
		return EX_CONFIG;
	if (opt.check_only) {
		printf("mailward: %s: policy OK\n", opt.policy_path);
		policy_release(policy);
		return 0;
	}
	log_open("mailward",
	         opt.log_stderr || policy->log_to == POLICY_LOG_STDERR ? LOG_TO_STDERR
	                                                               : LOG_TO_SYSLOG,
	         policy_syslog_facility(policy));
	apply_log_settings(&opt, policy);
	signals_block();
	start_privileged(&opt, policy, &st);
	start_services(policy, &st);
	policy_install(policy);
	if (signals_start(&st.reloader, reload_policy, &st) != 0)
		log_fatal(EX_OSERR, "fatal: cannot start the reload thread");
	log_notice(NULL, "mailward %s serving on %s policy=%s user=%s spool=%s", PACKAGE_VERSION,
	           st.socket_spec, opt.policy_path,
	           st.who.switch_user ? st.who.name : "(unchanged)", spool_dir(st.svc.spool));

	status = smfi_main() == MI_SUCCESS ? 0 : EX_SOFTWARE;

	log_notice(NULL, "mailward stopping (%s)", status == 0 ? "clean" : "libmilter failed");
	shutdown_daemon(&st);
	return status;
}
