/*
 * dkim-verify-file - verify the DKIM signatures of a message file
 *
 * A test driver, not a product tool: runs mailward's verifier
 * (common/dkim_verify.c) on any message, with the keys from a real DNS
 * server through the production resolver (common/dns_unbound.c).
 *
 *   dkim-verify-file [--forward ADDR@PORT] [--now EPOCH] [--min-rsa-bits N]
 *                    [--max-signatures N] [--refuse-l] [--repeat N] FILE|-
 *
 * The message is split as an MTA hands it to a milter (value = everything
 * after the colon, folded lines joined with LF) and the body is fed in
 * 64 KB chunks.  Without --forward the resolver reads /etc/resolv.conf.
 * One line per evaluated signature, top first:
 *
 *   dkim=pass header.d=D header.s=S header.i=I header.a=A header.b=B bits=N
 *   dkim=fail header.d=D ... (body hash mismatch)
 *
 * then "skipped=N" when signatures past the cap were not evaluated, or
 * "dkim=none" when there is no signature; on stderr "# lookups=N
 * cpu_us=N wall_us=N" for the verification.  --repeat N verifies N more
 * times (keys then come from the resolver's cache) and prints the CPU time
 * per verification on stderr.  Exit status: 0 every evaluated signature
 * passed and there was one; 1 otherwise; 2 usage or I/O error.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/dkim_verify.h"
#include "common/dns.h"
#include "common/header.h"
#include "common/xalloc.h"

struct message {
	struct header *headers;
	size_t count;
	const unsigned char *body;
	size_t body_len;
};

static void
read_all(FILE *f, struct buf *out)
{
	char chunk[65536];
	size_t n;

	buf_append(out, "", 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(out, chunk, n);
}

/* A new field called line up to the colon; its value comes when it is complete. */
static void
add_field(struct message *m, const char *line, const char *colon)
{
	m->headers = xgrow(m->headers, m->count, sizeof(*m->headers));
	m->headers[m->count].name = xstrndup(line, (size_t)(colon - line));
	m->headers[m->count].value = NULL;
	m->count++;
}

/*
 * Header fields up to the empty line; a line that is neither a field nor a
 * continuation starts the body, as Postfix reads it.  Values grow in a
 * buf each, so a field folded over many lines costs linear time.
 */
static void
split_message(const struct buf *msg, struct message *m)
{
	struct buf value = BUF_INIT;
	size_t pos = 0;

	memset(m, 0, sizeof(*m));
	while (pos < msg->len) {
		const char *line = msg->data + pos;
		const char *nl = memchr(line, '\n', msg->len - pos);
		size_t len = nl ? (size_t)(nl - line) : msg->len - pos;
		size_t next = pos + len + (nl != NULL);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0) {
			pos = next;
			break;
		}
		const char *colon = memchr(line, ':', len);
		if ((line[0] == ' ' || line[0] == '\t') && m->count > 0) {
			buf_append(&value, "\n", 1);
			buf_append(&value, line, len);
		} else if (colon != NULL) {
			if (m->count > 0)
				m->headers[m->count - 1].value = xstrdup(buf_str(&value));
			buf_reset(&value);
			add_field(m, line, colon);
			buf_append(&value, colon + 1, len - (size_t)(colon + 1 - line));
		} else {
			break;
		}
		pos = next;
	}
	if (m->count > 0)
		m->headers[m->count - 1].value = xstrdup(buf_str(&value));
	buf_free(&value);
	m->body = (const unsigned char *)msg->data + pos;
	m->body_len = msg->len - pos;
}

static struct dkim_verify *
verify(const struct message *m, const struct dkim_verify_options *opt, struct dns_resolver *dns,
       time_t now, struct dns_budget *budget)
{
	struct dkim_verify *v = dkim_verify_new(opt);

	for (size_t i = 0; i < m->count; i++)
		dkim_verify_header(v, m->headers[i].name, m->headers[i].value);
	for (size_t i = 0; i < m->body_len; i += 65536)
		dkim_verify_body(v, m->body + i, m->body_len - i < 65536 ? m->body_len - i : 65536);
	dns_budget_start(dns, budget);
	dkim_verify_finish(v, dns, budget, now);
	return v;
}

/* Prints the results; true if there is one and all passed. */
static bool
print_results(const struct dkim_verify *v)
{
	const struct dkim_result *r;
	size_t n = dkim_verify_results(v, &r);
	bool ok = n > 0;

	for (size_t i = 0; i < n; i++) {
		printf(
		    "dkim=%s header.d=%s header.s=%s header.i=%s header.a=%s header.b=%s bits=%d",
		    dkim_verdict_name(r[i].verdict), r[i].domain ? r[i].domain : "-",
		    r[i].selector ? r[i].selector : "-", r[i].identity ? r[i].identity : "-",
		    r[i].algorithm ? r[i].algorithm : "-", r[i].b_prefix[0] ? r[i].b_prefix : "-",
		    r[i].key_bits);
		if (r[i].testing)
			printf(" testing");
		if (r[i].reason != NULL)
			printf(" (%s)", r[i].reason);
		printf("\n");
		ok = ok && r[i].verdict == DKIM_PASS;
	}
	if (dkim_verify_skipped(v) > 0)
		printf("skipped=%zu\n", dkim_verify_skipped(v));
	if (n == 0)
		printf("dkim=none\n");
	return ok;
}

static double
clock_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
usage(void)
{
	fprintf(stderr, "usage: dkim-verify-file [--forward ADDR@PORT] [--now EPOCH] "
	                "[--min-rsa-bits N] [--max-signatures N] [--refuse-l] [--repeat N] "
	                "FILE|-\n");
	return 2;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "forward", required_argument, NULL, 'f' },
		{ "now", required_argument, NULL, 'n' },
		{ "min-rsa-bits", required_argument, NULL, 'b' },
		{ "max-signatures", required_argument, NULL, 'm' },
		{ "refuse-l", no_argument, NULL, 'l' },
		{ "repeat", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct dkim_verify_options opt;
	struct dns_config cfg = { .query_timeout_ms = 2000, .message_budget_ms = 10000 };
	char *forward[1];
	time_t now = time(NULL);
	long repeat = 0;
	struct buf msg = BUF_INIT, err = BUF_INIT;
	struct message m;
	struct dns_budget budget;
	int c;

	dkim_verify_options_default(&opt);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'f') {
			forward[0] = optarg;
			cfg.nameservers = forward;
			cfg.n_nameservers = 1;
		} else if (c == 'n') {
			now = (time_t)atoll(optarg);
		} else if (c == 'b') {
			opt.min_rsa_bits = (unsigned)atoi(optarg);
		} else if (c == 'm') {
			opt.max_signatures = (unsigned)atoi(optarg);
		} else if (c == 'l') {
			opt.length_policy = DKIM_LENGTH_REFUSE;
		} else if (c == 'r') {
			repeat = atol(optarg);
		} else {
			return usage();
		}
	}
	if (optind != argc - 1)
		return usage();
	FILE *f = strcmp(argv[optind], "-") == 0 ? stdin : fopen(argv[optind], "rb");
	if (f == NULL) {
		perror(argv[optind]);
		return 2;
	}
	read_all(f, &msg);
	if (f != stdin)
		fclose(f);
	struct dns_resolver *dns = dns_resolver_new(&cfg, &err);
	if (dns == NULL) {
		fprintf(stderr, "dkim-verify-file: %s\n", buf_str(&err));
		return 2;
	}
	split_message(&msg, &m);

	double cpu0 = clock_us(CLOCK_PROCESS_CPUTIME_ID), wall0 = clock_us(CLOCK_MONOTONIC);
	struct dkim_verify *v = verify(&m, &opt, dns, now, &budget);
	fprintf(stderr, "# lookups=%u cpu_us=%.0f wall_us=%.0f\n", budget.lookups,
	        clock_us(CLOCK_PROCESS_CPUTIME_ID) - cpu0, clock_us(CLOCK_MONOTONIC) - wall0);
	bool ok = print_results(v);
	dkim_verify_free(v);

	if (repeat > 0) {
		cpu0 = clock_us(CLOCK_PROCESS_CPUTIME_ID);
		for (long i = 0; i < repeat; i++)
			dkim_verify_free(verify(&m, &opt, dns, now, &budget));
		fprintf(stderr, "# %ld verifications (cached keys): %.1f us CPU each\n", repeat,
		        (clock_us(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / (double)repeat);
	}
	for (size_t i = 0; i < m.count; i++) {
		free(m.headers[i].name);
		free(m.headers[i].value);
	}
	free(m.headers);
	buf_free(&msg);
	buf_free(&err);
	dns_resolver_free(dns);
	return ok ? 0 : 1;
}
