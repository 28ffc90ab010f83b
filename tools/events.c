/*
 * events - "mailward events": the event spool from the command line
 *
 *   mailward events [-c POLICY | -d SPOOL] list [--cur | --dead ENDPOINT]
 *   mailward events [-c POLICY | -d SPOOL] tail [-f] [-n N]
 *   mailward events [-c POLICY | -d SPOOL] show NAME
 *   mailward events [-c POLICY | -d SPOOL] ack NAME...
 *   mailward events [-c POLICY | -d SPOOL] redrive ENDPOINT
 *   mailward events [-c POLICY] dispatch [--once]
 *
 * Listings are JSON Lines, {"name": NAME, "event": {...}}, one event per
 * line, oldest first, for jq.  dispatch is the webhook dispatcher
 * (common/webhook_dispatch.h): a process of its own, so that libcurl, TLS
 * and slow endpoints never share the milter's address space or threads.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <dirent.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/webhook_dispatch.h"
#include "common/xalloc.h"
#include "policy/policy.h"
#include "tools/tools.h"

static void
events_usage(FILE *out)
{
	fprintf(out,
	        "Usage: mailward events [-c POLICY | -d SPOOL] COMMAND [ARGS]\n"
	        "\n"
	        "The event spool (events.spool_dir): every event is a JSON file in\n"
	        "SPOOL/new/ until a consumer takes it into SPOOL/cur/.  Listings print\n"
	        "JSON Lines, one {\"name\": NAME, \"event\": {...}} per event, oldest\n"
	        "first, e.g. mailward events list | jq -r .event.eventType\n"
	        "\n"
	        "Commands:\n"
	        "  list [--cur | --dead ENDPOINT]\n"
	        "                 the events waiting in new/ (or taken, in cur/, or the\n"
	        "                 dead letters of a webhook endpoint)\n"
	        "  tail [-f] [-n N]\n"
	        "                 the last N (default 10) events of new/; with -f, then\n"
	        "                 every new event as it arrives, until interrupted\n"
	        "  show NAME      the event NAME as stored, wherever it is\n"
	        "  ack NAME...    take events: move them from new/ to cur/\n"
	        "  redrive ENDPOINT\n"
	        "                 queue the dead letters of webhook ENDPOINT again; the\n"
	        "                 dispatcher delivers them to that endpoint only\n"
	        "  dispatch [--once]\n"
	        "                 the webhook dispatcher: POST every event to every\n"
	        "                 endpoint of the policy's webhooks as an SNS notification\n"
	        "                 (at least once; de-duplicate by MessageId), retry with\n"
	        "                 backoff, dead-letter into SPOOL/dead/ENDPOINT/.  Runs\n"
	        "                 until SIGTERM or SIGINT (--once: one pass, then exits).\n"
	        "                 Restart it to apply a changed policy.\n"
	        "\n"
	        "  -c POLICY      policy file (default %s): gives\n"
	        "                 events.spool_dir and the webhooks\n"
	        "  -d SPOOL       the spool directory, without reading a policy\n"
	        "                 (not for dispatch)\n"
	        "  -h, --help     show this help and exit\n"
	        "\n"
	        "Exit status: 0 done, 64 bad usage, 66 no such event or endpoint,\n"
	        "74 a file could not be read or moved, 78 policy problems.\n",
	        MW_DEFAULT_POLICY);
}

struct events_options {
	const char *policy_path;
	const char *spool_dir;
	bool follow, cur, once;
	const char *dead;
	long lines;
};

struct events_run {
	struct events_options opt;
	struct policy *policy;
	const char *dir;
	int argc; /* the command and its arguments */
	char **argv;
};

/* 0, or EX_USAGE after saying why; exits 0 for --help. */
static int
parse_options(int argc, char **argv, struct events_options *opt)
{
	enum { OPT_CUR = 256, OPT_DEAD, OPT_ONCE };
	static const struct option longopts[] = {
		{ "cur", no_argument, NULL, OPT_CUR },
		{ "dead", required_argument, NULL, OPT_DEAD },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	opt->policy_path = MW_DEFAULT_POLICY;
	opt->lines = 10;
	while ((c = getopt_long(argc, argv, "c:d:fn:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt->policy_path = optarg;
			break;
		case 'd':
			opt->spool_dir = optarg;
			break;
		case 'f':
			opt->follow = true;
			break;
		case 'n':
			opt->lines = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || opt->lines < 0) {
				fprintf(stderr, "mailward events: -n %s: not a count\n", optarg);
				return EX_USAGE;
			}
			break;
		case OPT_CUR:
			opt->cur = true;
			break;
		case OPT_DEAD:
			opt->dead = optarg;
			break;
		case OPT_ONCE:
			opt->once = true;
			break;
		case 'h':
			events_usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "Try 'mailward events --help'.\n");
			return EX_USAGE;
		}
	}
	return 0;
}

static int
load_policy(struct events_run *run, bool need_policy)
{
	struct buf errors = BUF_INIT;

	if (run->opt.spool_dir != NULL && !need_policy) {
		run->dir = run->opt.spool_dir;
		return 0;
	}
	run->policy = policy_load(run->opt.policy_path, &errors);
	if (run->policy == NULL) {
		fprintf(stderr, "%smailward events: %s refused\n", buf_str(&errors),
		        run->opt.policy_path);
		buf_free(&errors);
		return EX_CONFIG;
	}
	run->dir = run->opt.spool_dir != NULL ? run->opt.spool_dir : run->policy->spool_dir;
	return 0;
}

static char *
queue_path(const struct events_run *run, const char *queue)
{
	return xasprintf("%s/%s", run->dir, queue);
}

/* The file's bytes; NULL (errno set) when it cannot be read. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	struct buf data = BUF_INIT;
	char chunk[8192];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&data, chunk, n);
	fclose(f);
	*len = data.len;
	return data.data != NULL ? data.data : xstrdup("");
}

/* One JSON Lines record for the event at path; false when it cannot be read. */
static bool
print_event(const char *path, const char *name)
{
	json_t *line = json_object(), *event;
	json_error_t jerr;
	size_t len;
	char *data = slurp(path, &len);

	if (data == NULL) {
		json_decref(line);
		return false;
	}
	json_object_set_new(line, "name", json_string(name));
	event = json_loadb(data, len, 0, &jerr);
	if (event != NULL)
		json_object_set_new(line, "event", event);
	else
		json_object_set_new(line, "error", json_string(jerr.text));
	json_dumpf(line, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(line);
	free(data);
	return true;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The event names of a directory, sorted; NULL (errno set) when it cannot be read. */
static char **
sorted_names(const char *dir_path, size_t *count)
{
	DIR *dir = opendir(dir_path);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	if (dir == NULL)
		return NULL;
	while ((de = readdir(dir)) != NULL)
		if (webhook_valid_name(de->d_name)) {
			names = xgrow(names, n + 1, sizeof(char *));
			names[n++] = xstrdup(de->d_name);
		}
	closedir(dir);
	*count = n;
	if (n == 0) /* not qsort(NULL, 0): its pointer is declared non-null */
		return xcalloc(1, sizeof(char *));
	qsort(names, n, sizeof(char *), name_cmp);
	return names;
}

/* Print the events of dir_path from index first on. */
static int
print_queue(const char *dir_path, size_t skip_all_but)
{
	size_t n;
	char **names = sorted_names(dir_path, &n);
	size_t first = skip_all_but < n ? n - skip_all_but : 0;

	if (names == NULL) {
		fprintf(stderr, "mailward events: %s: %s\n", dir_path, strerror(errno));
		return EX_NOINPUT;
	}
	for (size_t i = 0; i < n; i++) {
		if (i >= first) {
			char *path = xasprintf("%s/%s", dir_path, names[i]);
			print_event(path, names[i]); /* gone meanwhile (taken): not an error */
			free(path);
		}
		free(names[i]);
	}
	free(names);
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

static int
cmd_list(struct events_run *run)
{
	char *queue;
	int rc;

	if (run->opt.cur && run->opt.dead != NULL) {
		fprintf(stderr, "mailward events: list: --cur or --dead, not both\n");
		return EX_USAGE;
	}
	if (run->opt.dead != NULL && !webhook_valid_name(run->opt.dead)) {
		fprintf(stderr, "mailward events: \"%s\" is not an endpoint name\n", run->opt.dead);
		return EX_USAGE;
	}
	queue = run->opt.dead != NULL ? xasprintf("%s/dead/%s", run->dir, run->opt.dead)
	                              : queue_path(run, run->opt.cur ? "cur" : "new");
	rc = print_queue(queue, (size_t)-1);
	free(queue);
	return rc;
}

/* Every event arriving in new/ from now on, until SIGINT/SIGTERM (inotify). */
static int
follow(const char *new_dir, const char *cur_dir)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	int fd = inotify_init1(IN_CLOEXEC);
	ssize_t n;

	if (fd < 0 || inotify_add_watch(fd, new_dir, IN_CREATE | IN_MOVED_TO) < 0) {
		fprintf(stderr, "mailward events: tail -f: %s: %s\n", new_dir, strerror(errno));
		return EX_IOERR;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->len == 0 || !webhook_valid_name(ev->name))
				continue;
			char *path = xasprintf("%s/%s", new_dir, ev->name);
			/* A dispatcher may have taken it already: then it is in cur/. */
			if (!print_event(path, ev->name)) {
				free(path);
				path = xasprintf("%s/%s", cur_dir, ev->name);
				print_event(path, ev->name);
			}
			free(path);
		}
		if (fflush(stdout) != 0)
			break;
	}
	close(fd);
	return 0;
}

static int
cmd_tail(struct events_run *run)
{
	char *new_dir = queue_path(run, "new"), *cur_dir = queue_path(run, "cur");
	int rc = print_queue(new_dir, (size_t)run->opt.lines);

	if (rc == 0 && run->opt.follow)
		rc = follow(new_dir, cur_dir);
	free(new_dir);
	free(cur_dir);
	return rc;
}

/* NAME in TOP/E/BELOW/ for some endpoint E; its path or NULL. */
static char *
find_per_endpoint(const struct events_run *run, const char *top, const char *below,
                  const char *name)
{
	char *dir = xasprintf("%s/%s", run->dir, top), *found = NULL;
	size_t n;
	char **eps = sorted_names(dir, &n);

	for (size_t e = 0; eps != NULL && e < n; e++) {
		char *path = xasprintf("%s/%s%s/%s", dir, eps[e], below, name);
		if (found == NULL && access(path, F_OK) == 0)
			found = path;
		else
			free(path);
		free(eps[e]);
	}
	free(eps);
	free(dir);
	return found;
}

/* Where an event can be: new/, cur/, any dead/E/ or webhook/E/redrive/. */
static char *
find_event(const struct events_run *run, const char *name)
{
	static const char *const queues[] = { "new", "cur" };
	char *path;

	for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
		path = xasprintf("%s/%s/%s", run->dir, queues[i], name);
		if (access(path, F_OK) == 0)
			return path;
		free(path);
	}
	path = find_per_endpoint(run, "dead", "", name);
	return path != NULL ? path : find_per_endpoint(run, "webhook", "/redrive", name);
}

static int
cmd_show(struct events_run *run)
{
	char *path, *data;
	size_t len;

	if (run->argc != 2 || !webhook_valid_name(run->argv[1])) {
		fprintf(stderr, "mailward events: show needs one event NAME\n");
		return EX_USAGE;
	}
	path = find_event(run, run->argv[1]);
	if (path == NULL) {
		fprintf(stderr, "mailward events: %s: no such event in %s\n", run->argv[1],
		        run->dir);
		return EX_NOINPUT;
	}
	data = slurp(path, &len);
	free(path);
	if (data == NULL) {
		fprintf(stderr, "mailward events: %s: %s\n", run->argv[1], strerror(errno));
		return EX_IOERR;
	}
	fwrite(data, 1, len, stdout);
	if (len > 0 && data[len - 1] != '\n')
		putchar('\n');
	free(data);
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

static int
cmd_ack(struct events_run *run)
{
	int rc = 0;

	if (run->argc < 2) {
		fprintf(stderr, "mailward events: ack needs event NAMEs\n");
		return EX_USAGE;
	}
	for (int i = 1; i < run->argc; i++) {
		const char *name = run->argv[i];
		char *from, *to;
		if (!webhook_valid_name(name)) {
			fprintf(stderr, "mailward events: \"%s\" is not an event name\n", name);
			rc = EX_USAGE;
			continue;
		}
		from = xasprintf("%s/new/%s", run->dir, name);
		to = xasprintf("%s/cur/%s", run->dir, name);
		if (rename(from, to) < 0) {
			fprintf(stderr, "mailward events: ack %s: %s\n", name,
			        errno == ENOENT ? "not in new/ (no such event, or taken already)"
			                        : strerror(errno));
			if (rc == 0)
				rc = errno == ENOENT ? EX_NOINPUT : EX_IOERR;
		}
		free(from);
		free(to);
	}
	return rc;
}

static bool
policy_has_endpoint(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->webhook_count; i++)
		if (strcmp(p->webhooks[i].name, name) == 0)
			return true;
	return false;
}

static int
cmd_redrive(struct events_run *run)
{
	struct buf err = BUF_INIT;
	const char *ep;
	char *dead;
	long moved;
	bool known;

	if (run->argc != 2 || !webhook_valid_name(run->argv[1])) {
		fprintf(stderr, "mailward events: redrive needs one ENDPOINT name\n");
		return EX_USAGE;
	}
	ep = run->argv[1];
	dead = xasprintf("%s/dead/%s", run->dir, ep);
	known =
	    run->policy != NULL ? policy_has_endpoint(run->policy, ep) : access(dead, F_OK) == 0;
	free(dead);
	if (!known) {
		fprintf(stderr, "mailward events: redrive: no webhook endpoint \"%s\"\n", ep);
		return EX_NOINPUT;
	}
	moved = webhook_redrive(run->dir, ep, &err);
	if (moved < 0) {
		fprintf(stderr, "mailward events: redrive %s: %s\n", ep, buf_str(&err));
		buf_free(&err);
		return EX_IOERR;
	}
	printf("%ld event%s redriven to %s\n", moved, moved == 1 ? "" : "s", ep);
	return 0;
}

static struct webhook_endpoint *
endpoints_of(const struct policy *p)
{
	struct webhook_endpoint *eps = xcalloc(p->webhook_count + 1, sizeof(*eps));

	for (size_t i = 0; i < p->webhook_count; i++) {
		const struct policy_webhook *w = &p->webhooks[i];
		eps[i] = (struct webhook_endpoint){
			.name = w->name,
			.url = w->url,
			.topic = { .topic_arn = w->topic_arn,
			           .signing_cert_url = w->signing_cert_url,
			           .unsubscribe_url = w->unsubscribe_url,
			           .key = w->key.pkey,
			           .notification_shape = w->shape == EVENT_SHAPE_NOTIFICATION },
			.max_attempts = w->max_attempts,
			.max_hours = w->max_hours,
			.retry_min_ms = w->retry_min_ms,
			.retry_max_ms = w->retry_max_ms,
			.timeout_seconds = w->timeout,
			.tls_verify = w->tls_verify,
			.confirm_subscription = w->confirm_subscription,
		};
	}
	return eps;
}

/* SIGTERM and SIGINT as a readable descriptor: the dispatcher stops between posts. */
static int
stop_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static int
cmd_dispatch(struct events_run *run)
{
	const struct policy *p = run->policy;
	struct webhook_endpoint *eps;
	struct webhook_dispatcher *d;
	struct buf err = BUF_INIT;
	int stop_fd;

	if (p->webhook_count == 0) {
		fprintf(stderr, "mailward events: dispatch: %s has no webhooks\n",
		        run->opt.policy_path);
		return EX_CONFIG;
	}
	log_open("mailward-events", p->log_to == POLICY_LOG_STDERR ? LOG_TO_STDERR : LOG_TO_SYSLOG,
	         policy_syslog_facility(p));
	log_set_level((enum log_level)p->log_level);
	eps = endpoints_of(p);
	d = webhook_dispatcher_new(run->dir, eps, p->webhook_count, &err);
	if (d == NULL) {
		fprintf(stderr, "mailward events: dispatch: %s\n", buf_str(&err));
		buf_free(&err);
		free(eps);
		return EX_CANTCREAT;
	}
	if (run->opt.once) {
		webhook_dispatch_pass(d);
	} else {
		stop_fd = stop_signals();
		log_notice(NULL, "webhook dispatcher started: %zu endpoint%s, spool %s",
		           p->webhook_count, p->webhook_count == 1 ? "" : "s", run->dir);
		webhook_dispatch_run(d, stop_fd);
		log_notice(NULL, "webhook dispatcher stopped");
		close(stop_fd);
	}
	webhook_dispatcher_free(d);
	free(eps);
	return 0;
}

static const struct events_command {
	const char *name;
	int (*run)(struct events_run *run);
	bool needs_policy; /* even with -d */
} commands[] = {
	{ "list", cmd_list, false },       { "tail", cmd_tail, false },
	{ "show", cmd_show, false },       { "ack", cmd_ack, false },
	{ "redrive", cmd_redrive, false }, { "dispatch", cmd_dispatch, true },
};

int
events_main(int argc, char **argv)
{
	struct events_run run = { 0 };
	const struct events_command *cmd = NULL;
	int rc = parse_options(argc, argv, &run.opt);

	if (rc != 0)
		return rc;
	if (optind >= argc) {
		fprintf(stderr, "mailward events: which command?\nTry 'mailward events --help'.\n");
		return EX_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		fprintf(stderr,
		        "mailward events: unknown command \"%s\"\nTry 'mailward events --help'.\n",
		        argv[optind]);
		return EX_USAGE;
	}
	run.argc = argc - optind;
	run.argv = argv + optind;
	rc = load_policy(&run, cmd->needs_policy);
	if (rc == 0)
		rc = cmd->run(&run);
	if (run.policy != NULL)
		policy_release(run.policy);
	return rc;
}
