/*
 * stats - "mailward stats": the daemon's /metrics page for a terminal
 *
 * Fetches http://METRICS.LISTEN/metrics (libcurl) from the running daemon
 * and prints it as tables: outbound mail by stream and From domain, one
 * column per outcome; verdicts; inbound SPF, DKIM and DMARC; DNS lookups
 * with their mean and 95th-percentile bucket; the spool and webhooks.
 * --raw prints the exposition text as it came.  The page is the one
 * source: whatever a Prometheus server scrapes, this shows.
 */
#include "config.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "policy/policy.h"
#include "tools/tools.h"

#define MAX_LABELS 6

struct sample {
	char name[128];
	char label[MAX_LABELS][2][128]; /* name, value */
	size_t nlabels;
	double value;
};

struct page {
	struct sample *samples;
	size_t count;
};

static void
usage(FILE *out)
{
	fprintf(out,
	        "Usage: mailward stats [-c POLICY] [--url URL] [--raw]\n"
	        "\n"
	        "What the running daemon counted since it started, read from its\n"
	        "/metrics page (metrics.enabled = true, at metrics.listen): outbound\n"
	        "mail by sending stream and From domain, verdicts, inbound SPF, DKIM\n"
	        "and DMARC results, DNS lookup times, the event spool and webhooks.\n"
	        "\n"
	        "  -c POLICY   policy file (default %s)\n"
	        "  --url URL   the page to read instead of http://METRICS.LISTEN/metrics\n"
	        "  --raw       print the page as it is (Prometheus text format 0.0.4)\n"
	        "  -h, --help  show this help and exit\n"
	        "\n"
	        "Exit status: 0 done, 64 usage, 69 metrics off or the daemon does not\n"
	        "answer, 76 a page that cannot be read, 78 policy problems.\n",
	        MW_DEFAULT_POLICY);
}

/* ------------------------------------------------------------ fetching */

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	buf_append(arg, data, size * n);
	return size * n;
}

static int
fetch(const char *url, struct buf *body)
{
	char error[CURL_ERROR_SIZE] = "";
	CURL *c = curl_easy_init();
	long status = 0;
	CURLcode rc;

	if (c == NULL)
		return EX_SOFTWARE;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		fprintf(stderr, "mailward stats: %s: %s\n", url,
		        *error ? error : curl_easy_strerror(rc));
		return EX_UNAVAILABLE;
	}
	if (status != 200) {
		fprintf(stderr, "mailward stats: %s: HTTP %ld\n", url, status);
		return EX_UNAVAILABLE;
	}
	return 0;
}

/* ------------------------------------------------------------ parsing */

/* A label value up to its closing quote, unescaped; the char after it. */
static const char *
parse_quoted(const char *p, char *out, size_t size)
{
	size_t n = 0;

	for (; *p && *p != '"'; p++) {
		char ch = *p;
		if (ch == '\\' && p[1] != '\0') {
			ch = *++p == 'n' ? '\n' : *p;
		}
		if (n + 1 < size)
			out[n++] = ch;
	}
	out[n] = '\0';
	return *p == '"' ? p + 1 : NULL;
}

static const char *
parse_labels(const char *p, struct sample *s)
{
	while (*p && *p != '}') {
		size_t len = strcspn(p, "=");
		if (p[len] != '=' || p[len + 1] != '"' || s->nlabels == MAX_LABELS ||
		    len >= sizeof(s->label[0][0]))
			return NULL;
		memcpy(s->label[s->nlabels][0], p, len);
		s->label[s->nlabels][0][len] = '\0';
		p = parse_quoted(p + len + 2, s->label[s->nlabels][1], sizeof(s->label[0][1]));
		if (p == NULL)
			return NULL;
		s->nlabels++;
		if (*p == ',')
			p++;
	}
	return *p == '}' ? p + 1 : NULL;
}

/* One sample line; false when it is not one. */
static bool
parse_sample(const char *line, struct sample *s)
{
	size_t len = strcspn(line, "{ ");
	const char *p = line + len;
	char *end;

	memset(s, 0, sizeof(*s));
	if (len == 0 || len >= sizeof(s->name))
		return false;
	memcpy(s->name, line, len);
	if (*p == '{' && (p = parse_labels(p + 1, s)) == NULL)
		return false;
	if (*p != ' ')
		return false;
	s->value = strtod(p + 1, &end);
	return end != p + 1;
}

static int
parse_page(char *text, struct page *page)
{
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		struct sample s;
		if (*line == '#')
			continue;
		if (!parse_sample(line, &s)) {
			fprintf(stderr, "mailward stats: not a sample line: %.80s\n", line);
			return EX_PROTOCOL;
		}
		page->samples = xgrow(page->samples, page->count, sizeof(s));
		page->samples[page->count++] = s;
	}
	return 0;
}

/* ------------------------------------------------------------ lookups */

static const char *
label_of(const struct sample *s, const char *name)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (strcmp(s->label[i][0], name) == 0)
			return s->label[i][1];
	return "";
}

/* The value of a sample without labels, or of the first with label=value. */
static double
value_of(const struct page *page, const char *name, const char *label, const char *value)
{
	for (size_t i = 0; i < page->count; i++)
		if (strcmp(page->samples[i].name, name) == 0 &&
		    (label == NULL || strcmp(label_of(&page->samples[i], label), value) == 0))
			return page->samples[i].value;
	return 0;
}

/* ------------------------------------------------------------ tables */

static void
print_summary(const struct page *page)
{
	long up = (long)value_of(page, "mailward_uptime_seconds", NULL, NULL);

	printf("mailward: up %ldd %02ldh %02ldm %02lds, policy generation %.0f (%.0f reloads "
	       "refused), %.0f messages in flight\n",
	       up / 86400, up / 3600 % 24, up / 60 % 60, up % 60,
	       value_of(page, "mailward_policy_generation", NULL, NULL),
	       value_of(page, "mailward_policy_reloads_total", "result", "refused"),
	       value_of(page, "mailward_messages_in_flight", NULL, NULL));
	printf("spool: %.0f events waiting in new/\n",
	       value_of(page, "mailward_spool_backlog_events", NULL, NULL));
	for (size_t i = 0; i < page->count; i++) {
		const struct sample *s = &page->samples[i];
		const char *ep = label_of(s, "endpoint");
		if (strcmp(s->name, "mailward_webhook_dead_letters") == 0)
			printf("webhook %s: %.0f dead letters, %.0f redriven waiting\n", ep,
			       s->value,
			       value_of(page, "mailward_webhook_redrive_queue", "endpoint", ep));
	}
}

static const char *const outcomes[] = {
	"sent",       "bounced",      "complained",         "delivered",
	"delayed",    "unsubscribed", "suppressed_refused", "paused",
	"tempfailed", "rejected",
};
#define OUTCOMES (sizeof(outcomes) / sizeof(outcomes[0]))

struct row {
	char stream[128], domain[128];
	double count[OUTCOMES];
};

static size_t
outcome_index(const char *event)
{
	for (size_t i = 0; i < OUTCOMES; i++)
		if (strcmp(outcomes[i], event) == 0)
			return i;
	return OUTCOMES;
}

static struct row *
row_for(struct row **rows, size_t *n, const struct sample *s)
{
	const char *stream = label_of(s, "stream"), *domain = label_of(s, "from_domain");

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*rows)[i].stream, stream) == 0 &&
		    strcmp((*rows)[i].domain, domain) == 0)
			return &(*rows)[i];
	*rows = xgrow(*rows, *n, sizeof(**rows));
	memset(&(*rows)[*n], 0, sizeof(**rows));
	snprintf((*rows)[*n].stream, sizeof((*rows)[*n].stream), "%s", stream);
	snprintf((*rows)[*n].domain, sizeof((*rows)[*n].domain), "%s", domain);
	return &(*rows)[(*n)++];
}

/* Outbound mail: a row per stream and From domain, a column per outcome seen. */
static void
print_outbound(const struct page *page)
{
	struct row *rows = NULL;
	size_t n = 0;
	bool used[OUTCOMES] = { false };

	for (size_t i = 0; i < page->count; i++) {
		const struct sample *s = &page->samples[i];
		size_t k = outcome_index(label_of(s, "event"));
		if (strcmp(s->name, "mailward_outbound_total") != 0 || k == OUTCOMES)
			continue;
		row_for(&rows, &n, s)->count[k] += s->value;
		used[k] = true;
	}
	printf("\nOutbound mail\n");
	if (n == 0)
		printf("  (none yet)\n");
	else
		printf("  %-16s %-24s", "stream", "from_domain");
	for (size_t k = 0; n > 0 && k < OUTCOMES; k++)
		if (used[k])
			printf(" %*s", (int)strlen(outcomes[k]) > 8 ? (int)strlen(outcomes[k]) : 8,
			       outcomes[k]);
	for (size_t i = 0; i < n; i++) {
		printf("\n  %-16s %-24s", rows[i].stream, rows[i].domain);
		for (size_t k = 0; k < OUTCOMES; k++)
			if (used[k])
				printf(" %*.0f",
				       (int)strlen(outcomes[k]) > 8 ? (int)strlen(outcomes[k]) : 8,
				       rows[i].count[k]);
	}
	if (n > 0)
		printf("\n");
	free(rows);
}

/* Every sample of a family: its label values, then the value. */
static void
print_family(const struct page *page, const char *title, const char *name)
{
	bool any = false;

	printf("\n%s\n", title);
	for (size_t i = 0; i < page->count; i++) {
		const struct sample *s = &page->samples[i];
		struct buf labels = BUF_INIT;
		if (strcmp(s->name, name) != 0)
			continue;
		for (size_t l = 0; l < s->nlabels; l++)
			buf_printf(&labels, "%s%s", l ? " " : "", s->label[l][1]);
		printf("  %-40s %10.0f\n", buf_str(&labels), s->value);
		buf_free(&labels);
		any = true;
	}
	if (!any)
		printf("  (none yet)\n");
}

/* The upper bound of the bucket that holds the q-quantile of one series. */
static double
bucket_quantile(const struct page *page, const char *type, const char *status, double count,
                double q)
{
	for (size_t i = 0; i < page->count; i++) {
		const struct sample *s = &page->samples[i];
		if (strcmp(s->name, "mailward_dns_query_duration_seconds_bucket") == 0 &&
		    strcmp(label_of(s, "type"), type) == 0 &&
		    strcmp(label_of(s, "status"), status) == 0 && s->value >= q * count)
			return strtod(label_of(s, "le"), NULL);
	}
	return 0;
}

static void
print_dns(const struct page *page)
{
	bool any = false;

	printf("\nDNS lookups (sent out; cache hits not counted)\n");
	for (size_t i = 0; i < page->count; i++) {
		const struct sample *s = &page->samples[i];
		const char *type = label_of(s, "type"), *status = label_of(s, "status");
		double sum = 0;
		if (strcmp(s->name, "mailward_dns_query_duration_seconds_count") != 0 ||
		    s->value == 0)
			continue;
		for (size_t j = 0; j < page->count; j++)
			if (strcmp(page->samples[j].name,
			           "mailward_dns_query_duration_seconds_sum") == 0 &&
			    strcmp(label_of(&page->samples[j], "type"), type) == 0 &&
			    strcmp(label_of(&page->samples[j], "status"), status) == 0)
				sum = page->samples[j].value;
		if (!any)
			printf("  %-6s %-10s %10s %10s %12s\n", "type", "status", "lookups",
			       "mean ms", "p95 <= ms");
		printf("  %-6s %-10s %10.0f %10.2f %12g\n", type, status, s->value,
		       sum / s->value * 1000,
		       bucket_quantile(page, type, status, s->value, 0.95) * 1000);
		any = true;
	}
	if (!any)
		printf("  (none yet)\n");
}

static void
print_tables(const struct page *page)
{
	print_summary(page);
	print_outbound(page);
	print_family(page, "Verdicts (direction stage verdict)", "mailward_verdicts_total");
	print_family(page, "Inbound SPF", "mailward_inbound_spf_total");
	print_family(page, "Inbound DKIM signatures", "mailward_inbound_dkim_signatures_total");
	print_family(page, "Inbound DMARC (result disposition)", "mailward_inbound_dmarc_total");
	print_dns(page);
	print_family(page, "Unsubscribe links refused", "mailward_unsubscribe_bad_tokens_total");
}

/* ------------------------------------------------------------ main */

struct options {
	const char *policy_path;
	const char *url;
	bool raw;
};

static int
parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "raw", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt->policy_path = optarg;
			break;
		case 'u':
			opt->url = optarg;
			break;
		case 'r':
			opt->raw = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mailward stats: unexpected %s\n", argv[optind]);
		return EX_USAGE;
	}
	return 0;
}

/* The page's address from the policy; 0, or an exit status. */
static int
page_url(const struct options *opt, struct buf *url)
{
	struct buf err = BUF_INIT;
	struct policy *policy;
	int rc = 0;

	if (opt->url != NULL) {
		buf_puts(url, opt->url);
		return 0;
	}
	if ((policy = policy_load(opt->policy_path, &err)) == NULL) {
		fprintf(stderr, "%s", buf_str(&err));
		buf_free(&err);
		return EX_CONFIG;
	}
	if (!policy->metrics_enabled) {
		fprintf(stderr, "mailward stats: metrics are off in %s (metrics.enabled = false)\n",
		        opt->policy_path);
		rc = EX_UNAVAILABLE;
	} else {
		buf_printf(url, "http://%s/metrics", policy->metrics_listen);
	}
	policy_release(policy);
	return rc;
}

int
stats_main(int argc, char **argv)
{
	struct options opt = { .policy_path = MW_DEFAULT_POLICY };
	struct buf url = BUF_INIT, body = BUF_INIT;
	struct page page = { NULL, 0 };
	int rc;

	if ((rc = parse_options(argc, argv, &opt)) == 0 && (rc = page_url(&opt, &url)) == 0)
		rc = fetch(buf_str(&url), &body);
	if (rc == 0 && opt.raw)
		fwrite(body.data ? body.data : "", 1, body.len, stdout);
	else if (rc == 0 && (rc = parse_page(body.data ? body.data : (char[]){ "" }, &page)) == 0)
		print_tables(&page);
	free(page.samples);
	buf_free(&url);
	buf_free(&body);
	return rc;
}
