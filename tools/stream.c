/*
 * stream - "mailward stream": reputation and pauses of sending streams
 *
 *   mailward stream [-c POLICY] list
 *   mailward stream [-c POLICY] pause NAME [--domain]
 *   mailward stream [-c POLICY] resume NAME [--domain]
 *
 * list prints each stream of the policy, and each stream or From domain
 * with counts of the last 7 days or a state, with its state and its
 * counts and rates over 24 hours and 7 days.  pause and resume change the
 * state in the store; the running daemon sees it within a second and
 * writes the StreamPaused / StreamResumed event and log line (it is the
 * only writer of the event spool).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "common/reputation_store.h"
#include "common/timefmt.h"
#include "common/xalloc.h"
#include "milter/reputation.h"
#include "policy/policy.h"
#include "tools/tools.h"

static void
usage(FILE *out)
{
	fprintf(out,
	        "Usage: mailward stream [-c POLICY] COMMAND [ARGS]\n"
	        "\n"
	        "Reputation of sending streams and From domains: recipients sent to,\n"
	        "permanent bounces and complaints over sliding windows, and the pauses\n"
	        "that crossing the policy's pause_*_rate limits brings (a paused stream's\n"
	        "mail is tempfailed, 451 4.7.1, and waits in the MTA's queue).  Run it as\n"
	        "the daemon's user (the store's owner).\n"
	        "\n"
	        "Commands:\n"
	        "  list                 every stream and From domain: state, counts and\n"
	        "                       rates over 24 h and 7 d (sends/bounces/complaints)\n"
	        "  pause NAME           pause stream NAME until it is resumed\n"
	        "  resume NAME          resume it; rates are judged afresh from now\n"
	        "\n"
	        "  -c POLICY            policy file (default %s)\n"
	        "  -d, --domain         NAME is a From domain, not a stream\n"
	        "  -h, --help           show this help and exit\n"
	        "\n"
	        "The running daemon notices a pause or resume within a second and writes\n"
	        "its StreamPaused / StreamResumed (FromDomain...) event and log line.\n"
	        "\n"
	        "Exit status: 0 done, 1 nothing to do (not paused, already paused),\n"
	        "64 usage, 66 no readable store, 74 store errors, 78 policy problems.\n",
	        MW_DEFAULT_POLICY);
}

struct options {
	const char *policy_path;
	enum reputation_kind kind;
};

static int
parse(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "domain", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+c:dh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt->policy_path = optarg;
			break;
		case 'd':
			opt->kind = REPUTATION_DOMAIN;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ list */

struct entry {
	enum reputation_kind kind;
	char *name;
};

struct entries {
	struct entry *items;
	size_t count;
};

static void
entry_add(enum reputation_kind kind, const char *name, void *arg)
{
	struct entries *e = arg;

	for (size_t i = 0; i < e->count; i++)
		if (e->items[i].kind == kind && strcmp(e->items[i].name, name) == 0)
			return;
	e->items = xgrow(e->items, e->count, sizeof(*e->items));
	e->items[e->count++] = (struct entry){ kind, xstrdup(name) };
}

static void
entry_of_state(const struct reputation_record *rec, void *arg)
{
	entry_add(rec->kind, rec->name, arg);
}

static void
print_window(struct store *store, const struct entry *e, time_t now, long hours)
{
	struct reputation_counts c;
	char b[REPUTATION_RATE_TEXT], k[REPUTATION_RATE_TEXT], counts[64];

	if (reputation_store_window(store, e->kind, e->name, now, hours, NULL, &c, NULL) < 0)
		memset(&c, 0, sizeof(c));
	reputation_format_rate(c.bounces, c.sends, b);
	reputation_format_rate(c.complaints, c.sends, k);
	snprintf(counts, sizeof(counts), "%lld/%lld/%lld", (long long)c.sends, (long long)c.bounces,
	         (long long)c.complaints);
	printf(" %-17s %7s %7s", counts, b, k);
}

static void
print_entry(struct store *store, const struct entry *e, time_t now)
{
	struct reputation_record rec;
	char when[64] = "";

	if (reputation_store_get(store, e->kind, e->name, &rec, NULL) < 0)
		rec.state = REPUTATION_STATE_OK;
	printf("%-6s %-28s %-7s", reputation_kind_name(e->kind), e->name,
	       reputation_state_name(rec.state));
	print_window(store, e, now, 24);
	print_window(store, e, now, 7 * 24);
	if (rec.state == REPUTATION_STATE_PAUSED && rec.resume_at != 0) {
		struct timespec ts = { rec.resume_at, 0 };
		timefmt_iso8601(&ts, when, sizeof(when));
	}
	printf("  %s%s%s\n", rec.state != REPUTATION_STATE_OK ? rec.reason : "",
	       when[0] ? "; resumes " : "", when);
}

static int
list(struct store *store, const struct policy *policy)
{
	struct entries e = { 0 };
	struct buf err = BUF_INIT;
	time_t now = time(NULL);
	int rc = 0;

	for (size_t i = 0; i < policy->stream_count; i++)
		entry_add(REPUTATION_STREAM, policy->streams[i].name, &e);
	if (reputation_store_states(store, false, entry_of_state, &e, &err) < 0 ||
	    reputation_store_names(store, reputation_hour(now) - 7 * 24 + 1, entry_add, &e, &err) <
	        0) {
		fprintf(stderr, "mailward stream: %s\n", buf_str(&err));
		rc = EX_IOERR;
	}
	printf("%-6s %-28s %-7s %-17s %7s %7s %-17s %7s %7s  %s\n", "KIND", "NAME", "STATE",
	       "24H SENT/BNC/CMP", "BOUNCE", "COMPL", "7D SENT/BNC/CMP", "BOUNCE", "COMPL",
	       "REASON");
	for (size_t i = 0; rc == 0 && i < e.count; i++)
		print_entry(store, &e.items[i], now);
	for (size_t i = 0; i < e.count; i++)
		free(e.items[i].name);
	free(e.items);
	buf_free(&err);
	return rc;
}

/* ------------------------------------------------------------ pause, resume */

static int
set_state(struct store *store, const struct options *opt, const char *name, bool pause)
{
	struct reputation_record rec;
	struct buf err = BUF_INIT;
	enum reputation_state from;
	char *body;
	int rc = reputation_store_get(store, opt->kind, name, &rec, &err);

	if (rc >= 0 && (rec.state == REPUTATION_STATE_PAUSED) == pause) {
		printf("%s %s is %s\n", reputation_kind_name(opt->kind), name,
		       pause ? "paused already" : "not paused");
		buf_free(&err);
		return 1;
	}
	from = rec.state;
	rec.state = pause ? REPUTATION_STATE_PAUSED : REPUTATION_STATE_OK;
	rec.since = time(NULL);
	rec.resume_at = 0;
	snprintf(rec.reason, sizeof(rec.reason), "%s", pause ? "paused by an administrator" : "");
	body = reputation_note_body(&rec, "administrator", NULL, NULL, NULL);
	if (rc >= 0)
		rc = reputation_store_change(store, &rec, from, !pause,
		                             pause ? reputation_paused_type(opt->kind)
		                                   : reputation_resumed_type(opt->kind),
		                             body, &err);
	free(body);
	if (rc < 0)
		fprintf(stderr, "mailward stream: %s\n", buf_str(&err));
	else if (rc == 0)
		fprintf(stderr, "mailward stream: %s changed meanwhile; try again\n", name);
	else
		printf("%s %s %s\n", reputation_kind_name(opt->kind), name,
		       pause ? "paused" : "resumed");
	buf_free(&err);
	return rc < 0 ? EX_IOERR : rc == 0 ? EX_TEMPFAIL : 0;
}

static bool
stream_defined(const struct policy *policy, const char *name)
{
	for (size_t i = 0; i < policy->stream_count; i++)
		if (strcmp(policy->streams[i].name, name) == 0)
			return true;
	return false;
}

static int
run(struct store *store, const struct policy *policy, const struct options *opt,
    const char *command, const char *name)
{
	if (strcmp(command, "list") == 0)
		return list(store, policy);
	/* Pausing a stream the policy does not define would pause nothing. */
	if (strcmp(command, "pause") == 0 && opt->kind == REPUTATION_STREAM &&
	    !stream_defined(policy, name)) {
		fprintf(stderr, "mailward stream: the policy defines no stream %s\n", name);
		return EX_USAGE;
	}
	return set_state(store, opt, name, strcmp(command, "pause") == 0);
}

/* The command and its NAME (NULL for list), options around them; 0 or an exit status. */
static int
words(int argc, char **argv, struct options *opt, const char **command, const char **name)
{
	int rc;

	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	*command = argv[optind++];
	*name = NULL;
	if (strcmp(*command, "list") != 0 && strcmp(*command, "pause") != 0 &&
	    strcmp(*command, "resume") != 0) {
		fprintf(stderr, "mailward stream: unknown command %s\n", *command);
		return EX_USAGE;
	}
	if ((rc = parse(argc, argv, opt)) != 0)
		return rc;
	if (strcmp(*command, "list") != 0) {
		if (optind >= argc) {
			fprintf(stderr, "mailward stream: %s needs a NAME\n", *command);
			return EX_USAGE;
		}
		*name = argv[optind++];
		if ((rc = parse(argc, argv, opt)) != 0)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "mailward stream: unexpected %s\n", argv[optind]);
		return EX_USAGE;
	}
	return 0;
}

int
stream_main(int argc, char **argv)
{
	struct options opt = { .policy_path = MW_DEFAULT_POLICY, .kind = REPUTATION_STREAM };
	struct buf err = BUF_INIT;
	struct policy *policy;
	struct store_options store_options;
	struct store *store;
	const char *command, *name;
	int rc = parse(argc, argv, &opt);

	if (rc != 0)
		return rc < 0 ? 0 : rc;
	/* Options may follow the command and the name too. */
	if ((rc = words(argc, argv, &opt, &command, &name)) != 0)
		return rc < 0 ? 0 : rc;
	if ((policy = policy_load(opt.policy_path, &err)) == NULL) {
		fprintf(stderr, "%s", buf_str(&err));
		buf_free(&err);
		return EX_CONFIG;
	}
	policy_store_options(policy, &store_options);
	if ((store_options.backend == STORE_SQLITE && access(policy->store_path, R_OK) < 0) ||
	    (store = store_open_with(policy->store_path, &store_options, &err)) == NULL) {
		fprintf(stderr, "mailward stream: %s: %s\n", policy->store_path,
		        err.len ? buf_str(&err) : strerror(errno));
		policy_release(policy);
		buf_free(&err);
		return EX_NOINPUT;
	}
	rc = run(store, policy, &opt, command, name);
	store_close(store);
	policy_release(policy);
	return rc;
}
