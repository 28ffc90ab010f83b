/*
 * stats - the daemon's metrics and their labels; see stats.h.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/header.h"
#include "milter/inbound_checks.h"
#include "milter/stats.h"
#include "policy/policy.h"

enum family {
	F_OUTBOUND,
	F_VERDICTS,
	F_SPF,
	F_DKIM,
	F_DMARC,
	F_DNS,
	F_BAD_TOKENS,
	F_IN_FLIGHT,
	F_RELOADS,
	F_GENERATION,
	F_START_TIME,
	F_COUNT,
};

/* Seconds: a cached-upstream answer takes ~1 ms, a timeout the query limit. */
static const double dns_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	                              0.25,  0.5,    1,     2.5,  5,     10 };

/*
 * mailward_outbound_total may hold 10 events x streams x domains label
 * sets: its cap is high enough for hundreds of signing domains (past it,
 * new sets count under other/other/other).
 */
static const struct metrics_family families[F_COUNT] = {
	[F_OUTBOUND] = { "mailward_outbound_total",
	                 "What became of outbound mail, by event (sent, bounced, complained, "
	                 "delivered, delayed, unsubscribed, suppressed_refused, paused, "
	                 "tempfailed, rejected), sending stream and From domain.",
	                 METRICS_COUNTER,
	                 { "event", "stream", "from_domain" },
	                 .max_series = 8192 },
	[F_VERDICTS] = { "mailward_verdicts_total",
	                 "Verdicts given to the MTA, by direction, milter stage and verdict.",
	                 METRICS_COUNTER,
	                 { "direction", "stage", "verdict" } },
	[F_SPF] = { "mailward_inbound_spf_total",
	            "Inbound SPF results.",
	            METRICS_COUNTER,
	            { "result" } },
	[F_DKIM] = { "mailward_inbound_dkim_signatures_total",
	             "Inbound DKIM signatures checked, by result.",
	             METRICS_COUNTER,
	             { "result" } },
	[F_DMARC] = { "mailward_inbound_dmarc_total",
	              "Inbound DMARC results and the disposition applied (none, quarantine, "
	              "reject).",
	              METRICS_COUNTER,
	              { "result", "disposition" } },
	[F_DNS] = { "mailward_dns_query_duration_seconds",
	            "DNS lookups sent by the resolver (cache hits excluded), by type and outcome.",
	            METRICS_HISTOGRAM,
	            { "type", "status" },
	            dns_buckets,
	            sizeof(dns_buckets) / sizeof(dns_buckets[0]) },
	[F_BAD_TOKENS] = { "mailward_unsubscribe_bad_tokens_total",
	                   "Unsubscribe links refused, by reason (malformed, invalid, expired).",
	                   METRICS_COUNTER,
	                   { "reason" } },
	[F_IN_FLIGHT] = { "mailward_messages_in_flight",
	                  "Messages between MAIL FROM and their end.", METRICS_GAUGE },
	[F_RELOADS] = { "mailward_policy_reloads_total",
	                "Policy reloads (SIGHUP), installed or refused.",
	                METRICS_COUNTER,
	                { "result" } },
	[F_GENERATION] = { "mailward_policy_generation",
	                   "Policy snapshots installed since start (1: the one read at start).",
	                   METRICS_GAUGE },
	[F_START_TIME] = { "mailward_start_time_seconds",
	                   "When the daemon started, seconds since the Unix epoch.",
	                   METRICS_GAUGE },
};

static const char *const outbound_names[STATS_OUTBOUND_COUNT] = {
	"sent",       "bounced",      "complained",         "delivered",
	"delayed",    "unsubscribed", "suppressed_refused", "paused",
	"tempfailed", "rejected",
};

struct metrics *
stats_new(void)
{
	struct metrics *m = metrics_new(families, F_COUNT);

	metrics_set(m, F_START_TIME, NULL, (int64_t)time(NULL));
	metrics_set(m, F_GENERATION, NULL, 1);
	metrics_set(m, F_IN_FLIGHT, NULL, 0);
	return m;
}

/* ---------------------------------------------------------- label values */

static const char *
stream_label(const struct policy *policy, const char *stream)
{
	if (stream == NULL || *stream == '\0')
		return "none";
	for (size_t i = 0; policy != NULL && i < policy->stream_count; i++)
		if (strcmp(policy->streams[i].name, stream) == 0)
			return policy->streams[i].name;
	return METRICS_OTHER;
}

/* "*.example.com" covers strict subdomains of example.com. */
static bool
domain_matches(const char *pattern, const char *domain)
{
	size_t dl = strlen(domain), pl;

	if (strncmp(pattern, "*.", 2) != 0)
		return strcasecmp(pattern, domain) == 0;
	pl = strlen(pattern + 1); /* ".example.com" */
	return dl > pl && strcasecmp(domain + dl - pl, pattern + 1) == 0;
}

static const char *
domain_label(const struct policy *policy, const char *domain)
{
	if (domain == NULL || *domain == '\0')
		return "none";
	for (size_t i = 0; policy != NULL && i < policy->domain_count; i++)
		if (domain_matches(policy->domains[i].domain, domain))
			return policy->domains[i].domain;
	for (size_t i = 0; policy != NULL && i < policy->mail_from_count; i++)
		if (domain_matches(policy->mail_from[i].domain, domain))
			return policy->mail_from[i].domain;
	return METRICS_OTHER;
}

void
stats_outbound_for(const struct services *svc, const struct policy *policy,
                   enum stats_outbound what, const char *stream, const char *from, unsigned n)
{
	char *domain = NULL;
	const char *values[3];

	if (svc->metrics == NULL || what >= STATS_OUTBOUND_COUNT || n == 0)
		return;
	if (from != NULL && strchr(from, '@') != NULL)
		domain = first_address_domain(from);
	values[0] = outbound_names[what];
	values[1] = stream_label(policy, stream);
	values[2] = domain_label(policy, domain != NULL ? domain : from);
	metrics_add(svc->metrics, F_OUTBOUND, values, n);
	free(domain);
}

void
stats_outbound(const struct services *svc, const struct msg *msg, enum stats_outbound what,
               unsigned n)
{
	stats_outbound_for(svc, msg->policy, what, msg->stream, msg->common[COMMON_FROM], n);
}

void
stats_feedback(const struct services *svc, const struct policy *policy, const struct feedback *fb,
               const char *stream)
{
	enum stats_outbound what;
	size_t n = fb->rcpt_count > 0 ? fb->rcpt_count : 1;

	switch (fb->kind) {
	case FEEDBACK_BOUNCE:
		what = STATS_BOUNCED;
		break;
	case FEEDBACK_COMPLAINT:
		what = STATS_COMPLAINED;
		break;
	case FEEDBACK_DELIVERY:
		what = STATS_DELIVERED;
		break;
	case FEEDBACK_DELAY:
		what = STATS_DELAYED;
		break;
	default:
		return;
	}
	if (stream == NULL)
		stream = fb->orig.stream ? fb->orig.stream : fb->orig.configuration_set;
	stats_outbound_for(svc, policy, what, stream, fb->orig.from, (unsigned)n);
}

static const char *
verdict_name(sfsistat verdict)
{
	switch (verdict) {
	case SMFIS_ACCEPT:
		return "accept";
	case SMFIS_REJECT:
		return "reject";
	case SMFIS_TEMPFAIL:
		return "tempfail";
	case SMFIS_DISCARD:
		return "discard";
	default:
		return METRICS_OTHER;
	}
}

void
stats_verdict(const struct services *svc, const struct msg *msg, const char *stage,
              sfsistat verdict)
{
	const char *values[3];

	if (svc->metrics == NULL || verdict == SMFIS_CONTINUE || verdict == SMFIS_SKIP)
		return;
	values[0] = msg == NULL                            ? "unknown"
	            : msg->feedback_rcpts > 0              ? "feedback"
	            : msg->direction == DIRECTION_OUTBOUND ? "outbound"
	                                                   : "inbound";
	values[1] = stage;
	values[2] = verdict_name(verdict);
	metrics_add(svc->metrics, F_VERDICTS, values, 1);
	if (msg != NULL && msg->feedback_rcpts == 0 && msg->direction == DIRECTION_OUTBOUND &&
	    strcmp(stage, "rcpt") != 0 && (verdict == SMFIS_REJECT || verdict == SMFIS_TEMPFAIL))
		stats_outbound(svc, msg,
		               verdict == SMFIS_REJECT ? STATS_REJECTED : STATS_TEMPFAILED, 1);
}

void
stats_inbound(const struct services *svc, const struct inbound_checks *c)
{
	const char *value[2];

	if (svc->metrics == NULL)
		return;
	if (c->spf_done) {
		value[0] = spf_result_name(c->spf.result);
		metrics_add(svc->metrics, F_SPF, value, 1);
	}
	for (size_t i = 0; i < c->n_dkim; i++) {
		value[0] = dkim_verdict_name(c->dkim[i].verdict);
		metrics_add(svc->metrics, F_DKIM, value, 1);
	}
	if (c->n_dkim == 0) {
		value[0] = "none";
		metrics_add(svc->metrics, F_DKIM, value, 1);
	}
	value[0] = c->dmarc_done     ? dmarc_status_name(c->dmarc.status)
	           : c->from_problem ? "permerror"
	                             : "none";
	value[1] = dmarc_policy_name(c->applied);
	metrics_add(svc->metrics, F_DMARC, value, 1);
}

void
stats_bad_token(const struct services *svc, const char *why)
{
	metrics_add(svc->metrics, F_BAD_TOKENS, &why, 1);
}

void
stats_message_begin(const struct services *svc)
{
	metrics_gauge_add(svc->metrics, F_IN_FLIGHT, NULL, 1);
}

void
stats_message_end(const struct services *svc)
{
	metrics_gauge_add(svc->metrics, F_IN_FLIGHT, NULL, -1);
}

void
stats_reload(struct metrics *metrics, bool installed)
{
	const char *result = installed ? "installed" : "refused";

	metrics_add(metrics, F_RELOADS, &result, 1);
	if (installed)
		metrics_gauge_add(metrics, F_GENERATION, NULL, 1);
}

/* ---------------------------------------------------------- DNS */

static const char *
dns_type_name(enum dns_type type)
{
	switch (type) {
	case DNS_T_A:
		return "A";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_AAAA:
		return "AAAA";
	}
	return METRICS_OTHER;
}

static void
dns_observed(void *arg, enum dns_type type, enum dns_status status, int64_t elapsed_us)
{
	const char *values[2] = { dns_type_name(type), dns_status_name(status) };

	metrics_observe(arg, F_DNS, values, (double)elapsed_us / 1e6);
}

void
stats_watch_dns(struct dns_resolver *resolver, struct metrics *metrics)
{
	if (resolver != NULL && metrics != NULL)
		dns_resolver_observe(resolver, dns_observed, metrics);
}

/* ---------------------------------------------------------- the page */

/* Plain files in a directory (not hidden); -1 when it cannot be read. */
static long
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
render_gauge(struct buf *out, const char *name, const char *help, double value)
{
	metrics_write_header(out, name, help, METRICS_GAUGE);
	metrics_write_sample(out, name, NULL, NULL, NULL, value);
}

static void
render_webhook_family(struct buf *out, const char *spool, const struct policy *policy,
                      const char *name, const char *help, const char *top, const char *below)
{
	static const char *const label[] = { "endpoint" };
	char path[4096];

	metrics_write_header(out, name, help, METRICS_GAUGE);
	for (size_t i = 0; policy != NULL && i < policy->webhook_count; i++) {
		const char *endpoint = policy->webhooks[i].name;
		struct metrics_labels labels = { label, &endpoint, 1 };
		long n;
		snprintf(path, sizeof(path), "%s/%s/%s%s", spool, top, endpoint, below);
		n = count_files(path);
		metrics_write_sample(out, name, &labels, NULL, NULL, n < 0 ? 0 : (double)n);
	}
}

static void
render_spool(struct buf *out, const char *spool)
{
	char path[4096];
	struct policy *policy = policy_acquire();
	long backlog;

	snprintf(path, sizeof(path), "%s/new", spool);
	backlog = count_files(path);
	render_gauge(out, "mailward_spool_backlog_events",
	             "Events in the spool's new/ directory, not yet taken by every consumer.",
	             backlog < 0 ? 0 : (double)backlog);
	render_webhook_family(out, spool, policy, "mailward_webhook_dead_letters",
	                      "Events a webhook endpoint gave up on (spool dead/ENDPOINT).", "dead",
	                      "");
	render_webhook_family(out, spool, policy, "mailward_webhook_redrive_queue",
	                      "Dead letters queued again for an endpoint, not yet delivered.",
	                      "webhook", "/redrive");
	policy_release(policy);
}

void
stats_render(const struct services *svc, struct buf *out)
{
	int64_t started = metrics_value(svc->metrics, F_START_TIME, NULL);

	metrics_render(svc->metrics, out);
	render_gauge(out, "mailward_uptime_seconds", "Seconds since the daemon started.",
	             (double)(time(NULL) - started));
	if (svc->spool != NULL)
		render_spool(out, spool_dir(svc->spool));
}
