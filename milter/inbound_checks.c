/*
 * inbound_checks - the checks of one inbound message; see inbound_checks.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/dmarc_history.h"
#include "common/domain.h"
#include "common/header.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "milter/history.h"
#include "milter/inbound_checks.h"
#include "policy/overrides.h"

/*
 * At most this many distinct From domains are judged (each costs lookups);
 * a From naming more is refused in enforce mode rather than half judged,
 * or a sender could hide a p=reject domain behind harmless ones.
 */
#define MAX_FROM_DOMAINS 8

static void
check_spf(struct inbound_checks *c, const struct services *svc, const struct conn *conn,
          const struct msg *msg)
{
	if (!conn->client_known)
		return; /* no client address (a local submission): nothing to check */
	c->spf_request.client = (const struct sockaddr *)&conn->client;
	c->spf_request.mail_from = msg->sender;
	c->spf_request.helo = conn->helo;
	c->spf_request.receiver = c->authserv_id;
	if (*msg->sender != '\0')
		spf_check_mail_from(svc->resolver, &c->budget, &c->spf_request, &c->spf);
	else
		spf_check_helo(svc->resolver, &c->budget, &c->spf_request, &c->spf);
	c->spf_done = true;
}

static void
check_dkim(struct inbound_checks *c, const struct services *svc, struct dkim_verify *dkim)
{
	dkim_verify_finish(dkim, svc->resolver, &c->budget, time(NULL));
	c->n_dkim = dkim_verify_results(dkim, &c->dkim);
}

/* ------------------------------------------------------------ From domains */

struct from_domains {
	char *names[MAX_FROM_DOMAINS];
	size_t count;
	bool too_many;
};

static void
add_domain(struct from_domains *fd, char *domain)
{
	for (size_t i = 0; i < fd->count; i++)
		if (strcmp(fd->names[i], domain) == 0) {
			free(domain);
			return;
		}
	if (fd->count == MAX_FROM_DOMAINS) {
		fd->too_many = true;
		free(domain);
		return;
	}
	fd->names[fd->count++] = domain;
}

/* The domains of one From field's addresses; addresses without one are skipped. */
static void
add_field_domains(struct from_domains *fd, const char *value)
{
	struct addrlist list = { 0 };

	addrlist_split(value, &list);
	for (size_t i = 0; i < list.count; i++) {
		char *domain = address_domain(list.items[i]);
		char *alabel = domain ? domain_alabel(domain) : NULL;

		if (alabel != NULL)
			add_domain(fd, alabel);
		free(domain);
	}
	addrlist_free(&list);
}

/*
 * The distinct From domains in A-labels, from every From field (RFC 5322
 * allows one; a second must not hide a domain from DMARC); NULL, or why
 * there is none usable.
 */
static const char *
from_domains(const struct msg *msg, struct from_domains *fd)
{
	size_t fields = 0;

	for (size_t i = 0; i < msg->header_count; i++)
		if (strcasecmp(msg->headers[i].name, "From") == 0) {
			fields++;
			add_field_domains(fd, msg->headers[i].value);
		}
	if (fields == 0)
		return "no From header field";
	if (fd->too_many)
		return "the From header names more domains than mailward judges";
	if (fd->count == 0)
		return "no From address with a valid domain";
	return NULL;
}

/* ------------------------------------------------------------ DMARC */

static enum dmarc_spf
dmarc_spf_of(enum spf_result r)
{
	switch (r) {
	case SPF_NEUTRAL:
		return DMARC_SPF_NEUTRAL;
	case SPF_PASS:
		return DMARC_SPF_PASS;
	case SPF_FAIL:
		return DMARC_SPF_FAIL;
	case SPF_SOFTFAIL:
		return DMARC_SPF_SOFTFAIL;
	case SPF_TEMPERROR:
		return DMARC_SPF_TEMPERROR;
	case SPF_PERMERROR:
		return DMARC_SPF_PERMERROR;
	case SPF_NONE:
	default:
		return DMARC_SPF_NONE;
	}
}

static enum dmarc_dkim
dmarc_dkim_of(enum dkim_verdict v)
{
	switch (v) {
	case DKIM_PASS:
		return DMARC_DKIM_PASS;
	case DKIM_FAIL:
		return DMARC_DKIM_FAIL;
	case DKIM_NEUTRAL:
		return DMARC_DKIM_NEUTRAL;
	case DKIM_POLICY:
		return DMARC_DKIM_POLICY;
	case DKIM_TEMPERROR:
		return DMARC_DKIM_TEMPERROR;
	case DKIM_PERMERROR:
	default:
		return DMARC_DKIM_PERMERROR;
	}
}

/* How bad an outcome is: the policy it asks to apply, then its status. */
static int
severity(const struct dmarc_result *r)
{
	static const int status_rank[] = {
		[DMARC_PASS] = 0,      [DMARC_NONE] = 1, [DMARC_PERMERROR] = 2,
		[DMARC_TEMPERROR] = 3, [DMARC_FAIL] = 4,
	};
	return (int)r->policy * 8 + status_rank[r->status];
}

static char *
domain_of_address(const char *address)
{
	char *domain = address && *address ? address_domain(address) : NULL;
	char *alabel = domain ? domain_alabel(domain) : NULL;

	free(domain);
	return alabel;
}

static void
check_dmarc(struct inbound_checks *c, const struct services *svc, const struct msg *msg)
{
	struct from_domains fd = { 0 };
	struct dmarc_dkim_result *dkim = xcalloc(c->n_dkim + 1, sizeof(*dkim));
	char *envelope_from = domain_of_address(msg->sender);
	char *envelope_to = msg->rcpt_count ? domain_of_address(msg->rcpts[0]) : NULL;

	c->from_problem = from_domains(msg, &fd);
	c->from_unjudged = fd.too_many;
	for (size_t i = 0; i < c->n_dkim; i++) {
		dkim[i].domain = c->dkim[i].domain ? c->dkim[i].domain : "";
		dkim[i].selector = c->dkim[i].selector;
		dkim[i].result = dmarc_dkim_of(c->dkim[i].verdict);
	}
	for (size_t i = 0; c->from_problem == NULL && i < fd.count; i++) {
		struct dmarc_input in = {
			.header_from = fd.names[i],
			.envelope_from = envelope_from,
			.envelope_to = envelope_to,
			.spf_domain = c->spf_done ? c->spf.domain : NULL,
			.spf_scope =
			    c->spf.identity == SPF_ID_HELO ? DMARC_SCOPE_HELO : DMARC_SCOPE_MFROM,
			.spf = c->spf_done ? dmarc_spf_of(c->spf.result) : DMARC_SPF_NONE,
			.dkim = dkim,
			.n_dkim = c->n_dkim,
		};
		struct dmarc_result r;

		dmarc_evaluate(svc->resolver, &c->budget, &in, &r);
		if (c->dmarc_done && severity(&r) <= severity(&c->dmarc)) {
			dmarc_result_free(&r);
			continue;
		}
		if (c->dmarc_done)
			dmarc_result_free(&c->dmarc);
		c->dmarc = r;
		c->dmarc_done = true;
		free(c->from_domain);
		c->from_domain = xstrdup(fd.names[i]);
	}
	for (size_t i = 0; i < fd.count; i++)
		free(fd.names[i]);
	free(dkim);
	free(envelope_from);
	free(envelope_to);
}

/* What mailward applies: the domain's policy unless a local override says less. */
static void
decide(struct inbound_checks *c, const struct conn *conn, const struct msg *msg)
{
	const struct policy *policy = msg->policy;

	c->applied = DMARC_POLICY_NONE;
	if (c->from_unjudged && policy->inbound_mode == INBOUND_ENFORCE) {
		c->applied = DMARC_POLICY_REJECT; /* too many domains to judge them all */
		return;
	}
	if (!c->dmarc_done || c->dmarc.status != DMARC_FAIL)
		return;
	if (c->dmarc.override == DMARC_OVERRIDE_SAMPLED_OUT)
		c->override = "sampled_out";
	else if (c->dmarc.override == DMARC_OVERRIDE_TEST_MODE)
		c->override = "local_policy"; /* the domain's own t=y */
	if (c->dmarc.policy == DMARC_POLICY_NONE)
		return;
	if (policy->inbound_mode == INBOUND_MONITOR ||
	    policy_monitor_domain(policy, c->from_domain))
		c->override = "local_policy";
	else if (conn->client_known &&
	         policy_trusted_forwarder(policy, (const struct sockaddr *)&conn->client))
		c->override = "trusted_forwarder";
	else
		c->applied = c->dmarc.policy;
}

void
inbound_checks_run(struct inbound_checks *c, const struct services *svc, const struct conn *conn,
                   const struct msg *msg, struct dkim_verify *dkim)
{
	memset(c, 0, sizeof(*c));
	policy_authserv_id(msg->policy, c->authserv_id, sizeof(c->authserv_id));
	dns_budget_start(svc->resolver, &c->budget);
	check_spf(c, svc, conn, msg);
	check_dkim(c, svc, dkim);
	check_dmarc(c, svc, msg);
	decide(c, conn, msg);
}

/* Only messages a DMARC record covers belong in aggregate reports. */
static bool
reportable(const struct inbound_checks *c, const struct msg *msg)
{
	return msg->policy->dmarc_history && c->dmarc_done && c->dmarc.have_record &&
	       (c->dmarc.status == DMARC_PASS || c->dmarc.status == DMARC_FAIL);
}

static enum dmarc_reason
row_reason(const struct inbound_checks *c)
{
	int reason = c->override ? dmarc_vocab_value(DMARC_VOCAB_REASON, c->override) : -1;

	if (c->override == NULL)
		return DMARC_REASON_NONE;
	return reason < 0 ? DMARC_REASON_OTHER : (enum dmarc_reason)reason;
}

void
inbound_checks_record(const struct inbound_checks *c, const struct services *svc,
                      const struct conn *conn, const struct msg *msg)
{
	const struct dmarc_result *d = &c->dmarc;
	struct dmarc_row_dkim dkim[DMARC_HISTORY_MAX_DKIM];
	size_t n = d->n_dkim < DMARC_HISTORY_MAX_DKIM ? d->n_dkim : DMARC_HISTORY_MAX_DKIM;
	struct buf rua = BUF_INIT;

	if (!reportable(c, msg) || svc->history == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dkim[i] = (struct dmarc_row_dkim){ d->dkim[i].domain, d->dkim[i].selector,
			                           d->dkim[i].result, NULL };
	for (size_t i = 0; i < d->record.rua.count; i++)
		buf_printf(&rua, "%s%s", i ? "," : "", d->record.rua.uri[i]);
	struct dmarc_row row = {
		.time = time(NULL),
		.source_ip = conn->client_ip,
		.header_from = d->header_from,
		.envelope_from = d->envelope_from,
		.envelope_to = d->envelope_to,
		.policy_domain = d->policy_domain,
		.published = { d->record.adkim, d->record.aspf, d->record.p, d->record.sp,
		               d->record.np, d->record.pct, d->record.fo, d->record.testing,
		               buf_str(&rua) },
		.disposition = c->applied,
		.dkim_aligned = d->dkim_aligned,
		.spf_aligned = d->spf_aligned,
		.reason = row_reason(c),
		.spf_domain = d->spf_domain,
		.spf_scope = d->spf_scope,
		.spf_result = d->spf,
		.dkim = dkim,
		.dkim_count = n,
	};
	history_add(svc->history, &row, msg->qid);
	buf_free(&rua);
}

void
inbound_checks_free(struct inbound_checks *c)
{
	if (c->spf_done)
		spf_outcome_free(&c->spf);
	if (c->dmarc_done)
		dmarc_result_free(&c->dmarc);
	free(c->from_domain);
}
