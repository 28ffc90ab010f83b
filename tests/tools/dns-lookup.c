/*
 * dns-lookup - ask the production resolver (common/dns_unbound.c) and print
 * its answers; a test driver for tests/e2e/dns.sh
 *
 *   dns-lookup [--forward ADDR[@PORT]]... [--zone ZONE=ADDR[@PORT]]...
 *              [--timeout MS] [--budget MS] [--dnssec ANCHOR-FILE]
 *              [--threads N] [--repeat M] NAME TYPE [NAME TYPE]...
 *
 * TYPE is TXT, A, AAAA, MX or PTR.  Each lookup prints one line: its
 * status, then its records, then "secure" if DNSSEC validated it:
 *
 *   found "text" "more"     TXT, one quoted string per record (\" \\ \DDD)
 *   found 192.0.2.1 ::1     A, AAAA
 *   found 10:mx.example     MX as PREF:NAME; PTR as NAME
 *   nodata | nxdomain | tempfail REASON
 *
 * --budget starts one message budget (per thread) that every lookup draws
 * on, and a last line "budget lookups N" says how many reached the
 * resolver.  --threads N runs the whole list in N threads at once (thread
 * k starting at lookup k), each --repeat M times; then each lookup prints
 * its line once when every result agrees, "MISMATCH ..." lines when not,
 * and a last line "time LOOKUPS MICROSECONDS" of wall time.  Exit status:
 * 0, or 1 for a mismatch, 2 for bad usage.
 */
#include "config.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/dns_impl.h"
#include "common/xalloc.h"

struct question {
	const char *name;
	enum dns_type type;
};

struct run {
	struct dns_resolver *resolver;
	struct question *questions;
	size_t n_questions;
	unsigned repeat;
	bool budget;
};

struct worker {
	pthread_t thread;
	const struct run *run;
	size_t first;  /* index of the question this thread starts with */
	char **lines;  /* [repeat * n_questions], in question order */
	unsigned sent; /* lookups that reached the resolver (budget) */
};

static const struct {
	const char *name;
	enum dns_type type;
} type_names[] = {
	{ "A", DNS_T_A },     { "AAAA", DNS_T_AAAA }, { "MX", DNS_T_MX },
	{ "PTR", DNS_T_PTR }, { "TXT", DNS_T_TXT },
};

static bool
type_parse(const char *text, enum dns_type *type)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (strcasecmp(text, type_names[i].name) == 0) {
			*type = type_names[i].type;
			return true;
		}
	}
	return false;
}

static void
quote_put(struct buf *out, const char *data, size_t len)
{
	buf_append(out, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '"' || c == '\\')
			buf_printf(out, "\\%c", c);
		else if (c < ' ' || c >= 0x7f)
			buf_printf(out, "\\%03u", c);
		else
			buf_append(out, &c, 1);
	}
	buf_append(out, "\"", 1);
}

static void
record_put(struct buf *out, enum dns_type type, const struct dns_rr *rr)
{
	char addr[INET6_ADDRSTRLEN];

	switch (type) {
	case DNS_T_TXT:
		quote_put(out, rr->data, rr->len);
		return;
	case DNS_T_A:
	case DNS_T_AAAA:
		if (inet_ntop(type == DNS_T_A ? AF_INET : AF_INET6, rr->data, addr, sizeof(addr)))
			buf_puts(out, addr);
		return;
	case DNS_T_MX:
		buf_printf(out, "%u:%s", (unsigned)rr->pref, rr->data);
		return;
	case DNS_T_PTR:
		buf_puts(out, rr->data);
		return;
	}
}

static char *
answer_line(enum dns_type type, const struct dns_answer *ans)
{
	struct buf line = BUF_INIT;

	buf_puts(&line, dns_status_name(ans->status));
	if (ans->status == DNS_TEMPFAIL)
		buf_printf(&line, " %s", ans->reason);
	for (size_t i = 0; i < ans->count; i++) {
		buf_append(&line, " ", 1);
		record_put(&line, type, &ans->rr[i]);
	}
	if (ans->secure)
		buf_puts(&line, " secure");
	return line.data;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	const struct run *run = w->run;
	struct dns_budget budget;

	if (run->budget)
		dns_budget_start(run->resolver, &budget);
	for (unsigned round = 0; round < run->repeat; round++) {
		for (size_t k = 0; k < run->n_questions; k++) {
			size_t i = (w->first + k) % run->n_questions;
			const struct question *q = &run->questions[i];
			struct dns_answer ans;

			dns_lookup(run->resolver, run->budget ? &budget : NULL, q->name, q->type,
			           &ans);
			w->lines[round * run->n_questions + i] = answer_line(q->type, &ans);
			dns_answer_free(&ans);
		}
	}
	w->sent = run->budget ? budget.lookups : 0;
	return NULL;
}

/* One line per question; mismatching results named.  Returns mismatches. */
static unsigned
report(const struct run *run, struct worker *workers, size_t n_workers)
{
	unsigned mismatches = 0;

	for (size_t i = 0; i < run->n_questions; i++) {
		const char *first = workers[0].lines[i];

		printf("%s\n", first);
		for (size_t t = 0; t < n_workers; t++) {
			for (unsigned round = 0; round < run->repeat; round++) {
				const char *line = workers[t].lines[round * run->n_questions + i];

				if (strcmp(line, first) != 0) {
					printf("MISMATCH %s thread %zu round %u: %s\n",
					       run->questions[i].name, t, round, line);
					mismatches++;
				}
			}
		}
	}
	return mismatches;
}

static int
usage(void)
{
	fprintf(stderr,
	        "usage: dns-lookup [--forward ADDR[@PORT]]... [--zone ZONE=ADDR[@PORT]]...\n"
	        "         [--timeout MS] [--budget MS] [--dnssec ANCHOR-FILE]\n"
	        "         [--threads N] [--repeat M] NAME TYPE [NAME TYPE]...\n");
	return 2;
}

static void
zone_add(struct dns_config *cfg, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct dns_forward_zone *z;

	cfg->zones = xgrow(cfg->zones, cfg->n_zones, sizeof(*cfg->zones));
	z = &cfg->zones[cfg->n_zones++];
	z->zone = xstrndup(arg, eq != NULL ? (size_t)(eq - arg) : strlen(arg));
	z->servers = xmalloc(sizeof(*z->servers));
	z->servers[0] = xstrdup(eq != NULL ? eq + 1 : "");
	z->n_servers = 1;
}

static void
config_free(struct dns_config *cfg)
{
	for (size_t i = 0; i < cfg->n_zones; i++) {
		free(cfg->zones[i].zone);
		free(cfg->zones[i].servers[0]);
		free(cfg->zones[i].servers);
	}
	free(cfg->zones);
	free(cfg->nameservers);
}

/* Options into cfg and run; returns the index of the first question word. */
static int
options_parse(int argc, char **argv, struct dns_config *cfg, struct run *run, size_t *threads)
{
	static const struct option options[] = {
		{ "forward", required_argument, NULL, 'f' },
		{ "zone", required_argument, NULL, 'z' },
		{ "timeout", required_argument, NULL, 't' },
		{ "budget", required_argument, NULL, 'b' },
		{ "dnssec", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 'n' },
		{ "repeat", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'f':
			cfg->nameservers =
			    xgrow(cfg->nameservers, cfg->n_nameservers, sizeof(*cfg->nameservers));
			cfg->nameservers[cfg->n_nameservers++] = optarg;
			break;
		case 'z':
			zone_add(cfg, optarg);
			break;
		case 't':
			cfg->query_timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'b':
			cfg->message_budget_ms = (unsigned)strtoul(optarg, NULL, 10);
			run->budget = true;
			break;
		case 'd':
			cfg->dnssec = true;
			cfg->trust_anchor_file = optarg;
			break;
		case 'n':
			*threads = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			run->repeat = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			return -1;
		}
	}
	if (optind >= argc || (argc - optind) % 2 != 0 || *threads == 0 || run->repeat == 0)
		return -1;
	return optind;
}

static bool
questions_parse(char **words, size_t n_words, struct run *run)
{
	run->n_questions = n_words / 2;
	run->questions = xcalloc(run->n_questions, sizeof(*run->questions));
	for (size_t i = 0; i < run->n_questions; i++) {
		run->questions[i].name = words[2 * i];
		if (!type_parse(words[2 * i + 1], &run->questions[i].type)) {
			fprintf(stderr, "dns-lookup: unknown type %s\n", words[2 * i + 1]);
			return false;
		}
	}
	return true;
}

static unsigned
run_workers(const struct run *run, size_t n_workers, int64_t *elapsed_us)
{
	struct worker *workers = xcalloc(n_workers, sizeof(*workers));
	size_t n_lines = run->repeat * run->n_questions;
	int64_t start = dns_now_us();
	unsigned mismatches;

	for (size_t t = 0; t < n_workers; t++) {
		workers[t].run = run;
		workers[t].first = t % run->n_questions;
		workers[t].lines = xcalloc(n_lines, sizeof(char *));
		if (n_workers == 1)
			worker_main(&workers[t]);
		else if (pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]) != 0)
			abort();
	}
	for (size_t t = 0; n_workers > 1 && t < n_workers; t++)
		pthread_join(workers[t].thread, NULL);
	*elapsed_us = dns_now_us() - start;
	mismatches = report(run, workers, n_workers);
	if (run->budget)
		printf("budget lookups %u\n", workers[0].sent);
	for (size_t t = 0; t < n_workers; t++) {
		for (size_t i = 0; i < n_lines; i++)
			free(workers[t].lines[i]);
		free(workers[t].lines);
	}
	free(workers);
	return mismatches;
}

int
main(int argc, char **argv)
{
	struct dns_config cfg = { .query_timeout_ms = 5000, .message_budget_ms = 60000 };
	struct run run = { .repeat = 1 };
	struct buf err = BUF_INIT;
	size_t threads = 1;
	int64_t elapsed_us;
	unsigned mismatches;
	int first;

	first = options_parse(argc, argv, &cfg, &run, &threads);
	if (first < 0 || !questions_parse(argv + first, (size_t)(argc - first), &run)) {
		config_free(&cfg);
		free(run.questions);
		return usage();
	}
	run.resolver = dns_resolver_new(&cfg, &err);
	config_free(&cfg);
	if (run.resolver == NULL) {
		fprintf(stderr, "dns-lookup: %s\n", buf_str(&err));
		buf_free(&err);
		free(run.questions);
		return 2;
	}
	mismatches = run_workers(&run, threads, &elapsed_us);
	if (threads > 1 || run.repeat > 1)
		printf("time %zu %lld\n", threads * run.repeat * run.n_questions,
		       (long long)elapsed_us);
	dns_resolver_free(run.resolver);
	free(run.questions);
	return mismatches > 0 ? 1 : 0;
}
