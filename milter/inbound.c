/*
 * inbound - end of an inbound message; see inbound.h.
 *
 * The checks live in inbound_checks.c; this file keeps the per-message
 * state and turns the outcome into headers, a history row and a verdict.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "milter/authres.h"
#include "milter/inbound.h"
#include "milter/inbound_checks.h"
#include "milter/stats.h"
#include "milter/verdict.h"

struct inbound {
	struct dkim_verify *dkim;
	bool signed_msg; /* a DKIM-Signature field was seen */
};

struct inbound *
inbound_begin(const struct policy *policy)
{
	struct dkim_verify_options options;
	struct inbound *in;

	if (policy->inbound_mode == INBOUND_OFF)
		return NULL;
	dkim_verify_options_default(&options);
	options.max_signatures = (unsigned)policy->dkim_max_signatures;
	options.min_rsa_bits = (unsigned)policy->dkim_min_rsa_bits;
	options.length_policy =
	    policy->dkim_length_tag == LENGTH_TAG_IGNORE ? DKIM_LENGTH_REFUSE : DKIM_LENGTH_ACCEPT;
	in = xcalloc(1, sizeof(*in));
	in->dkim = dkim_verify_new(&options);
	return in;
}

void
inbound_header(struct inbound *in, const char *name, const char *value)
{
	if (strcasecmp(name, "DKIM-Signature") == 0)
		in->signed_msg = true;
	dkim_verify_header(in->dkim, name, value);
}

bool
inbound_wants_body(const struct inbound *in)
{
	return in->signed_msg;
}

void
inbound_body(struct inbound *in, const unsigned char *chunk, size_t len)
{
	dkim_verify_body(in->dkim, chunk, len);
}

void
inbound_free(struct inbound *in)
{
	if (in == NULL)
		return;
	dkim_verify_free(in->dkim);
	free(in);
}

/* ------------------------------------------------------------ end of message */

/* Forged Authentication-Results out (highest index first), ours on top. */
static void
queue_headers(struct msg *msg, const struct inbound_checks *c)
{
	struct authres ar = {
		.authserv_id = c->authserv_id,
		.spf = c->spf_done ? &c->spf : NULL,
		.dkim_checked = true,
		.dkim = c->dkim,
		.n_dkim = c->n_dkim,
		.dmarc = c->dmarc_done ? &c->dmarc : NULL,
		.dmarc_problem = c->from_problem,
		.dmarc_from = c->from_domain,
		.disposition = dmarc_policy_name(c->applied),
		.override = c->override,
	};
	struct buf value = BUF_INIT;
	int index = 0;

	for (size_t i = 0; i < msg->header_count; i++) {
		if (strcasecmp(msg->headers[i].name, "Authentication-Results") != 0)
			continue;
		index++;
		if (authres_claims(msg->headers[i].value, c->authserv_id)) {
			edit_delete_header(msg, "Authentication-Results", index);
			log_notice(msg->qid, "removed an Authentication-Results header claiming %s",
			           c->authserv_id);
		}
	}
	authres_format(&ar, &value);
	edit_insert_header(msg, "Authentication-Results", buf_str(&value));
	if (msg->policy->received_spf && c->spf_done) {
		buf_reset(&value);
		buf_puts(&value, " ");
		spf_received_spf(&value, &c->spf_request, &c->spf);
		edit_insert_header(msg, "Received-SPF", buf_str(&value));
	}
	buf_free(&value);
}

static sfsistat
reject(SMFICTX *ctx, const struct inbound_checks *c)
{
	char text[300];

	if (c->from_unjudged)
		snprintf(text, sizeof(text),
		         "mailward: the From header names more domains than DMARC can be "
		         "checked for");
	else
		snprintf(text, sizeof(text),
		         "mailward: the DMARC policy of %s rejects this message: it is not "
		         "authenticated (no aligned SPF or DKIM pass)",
		         c->from_domain);
	smfi_setreply(ctx, "550", "5.7.1", text);
	return SMFIS_REJECT;
}

/* The verdict for the applied policy; changes go to the MTA first. */
static sfsistat
dispose(SMFICTX *ctx, struct conn *conn, struct msg *msg, const struct inbound_checks *c)
{
	struct buf err = BUF_INIT;
	char field[300]; /* a header value starts with its space; the reason after it */
	char *reason = field + 1;
	sfsistat verdict = SMFIS_ACCEPT;

	if (c->applied == DMARC_POLICY_REJECT)
		return reject(ctx, c);
	snprintf(field, sizeof(field), " DMARC policy of %s: quarantine",
	         c->from_domain ? c->from_domain : "?");
	if (c->applied == DMARC_POLICY_QUARANTINE &&
	    msg->policy->quarantine_as == QUARANTINE_HEADER)
		edit_add_header(msg, msg->policy->quarantine_header, field);
	if (edits_apply(ctx, msg, conn->leadspc, &err) < 0)
		verdict = verdict_on_failure(ctx, msg->policy->on_internal_error, msg->qid,
		                             "internal error", buf_str(&err));
	else if (c->applied == DMARC_POLICY_QUARANTINE &&
	         msg->policy->quarantine_as == QUARANTINE_HOLD &&
	         smfi_quarantine(ctx, reason) != MI_SUCCESS)
		verdict = verdict_on_failure(ctx, msg->policy->on_internal_error, msg->qid,
		                             "internal error", "the MTA refused to quarantine");
	buf_free(&err);
	return verdict;
}

static void
log_summary(const struct conn *conn, const struct msg *msg, const struct inbound_checks *c,
            sfsistat verdict)
{
	struct buf dkim = BUF_INIT;

	for (size_t i = 0; i < c->n_dkim; i++)
		buf_printf(&dkim, "%s%s:%s", i ? "," : "", dkim_verdict_name(c->dkim[i].verdict),
		           c->dkim[i].domain ? c->dkim[i].domain : "?");
	log_info(msg->qid,
	         "inbound %s client=%s[%s] from=<%s> header_from=%s spf=%s dkim=%s dmarc=%s "
	         "policy=%s override=%s action=%s dns_lookups=%u",
	         msg->direction_reason, conn->client_name, conn->client_ip, msg->sender,
	         c->from_domain ? c->from_domain : "-",
	         c->spf_done ? spf_result_name(c->spf.result) : "-",
	         dkim.len ? buf_str(&dkim) : "none",
	         c->dmarc_done ? dmarc_status_name(c->dmarc.status)
	                       : (c->from_problem ? "permerror" : "-"),
	         dmarc_policy_name(c->applied), c->override ? c->override : "-",
	         verdict == SMFIS_REJECT     ? "reject"
	         : verdict == SMFIS_TEMPFAIL ? "tempfail"
	                                     : "accept",
	         c->budget.lookups);
	buf_free(&dkim);
}

/* DMARC could not be decided for DNS reasons: the configured failure action. */
static sfsistat
dns_trouble(SMFICTX *ctx, struct msg *msg, const struct inbound_checks *c)
{
	char detail[400];

	snprintf(detail, sizeof(detail), "DMARC for %s: %s", c->from_domain,
	         buf_str(&c->dmarc.reason));
	return verdict_on_failure_status(ctx, msg->policy->on_dns_temperror, msg->qid,
	                                 "DNS temporary failure", detail, "7.0");
}

sfsistat
inbound_eom(SMFICTX *ctx, const struct services *svc, struct conn *conn, struct msg *msg)
{
	struct inbound_checks c;
	sfsistat verdict = SMFIS_CONTINUE;

	if (msg->inbound == NULL) {
		log_info(msg->qid, "inbound %s client=%s[%s] from=<%s> checks=off",
		         msg->direction_reason, conn->client_name, conn->client_ip, msg->sender);
		return SMFIS_ACCEPT;
	}
	inbound_checks_run(&c, svc, conn, msg, msg->inbound->dkim);
	stats_inbound(svc, &c);
	if (c.dmarc_done && c.dmarc.status == DMARC_TEMPERROR &&
	    msg->policy->inbound_mode == INBOUND_ENFORCE)
		verdict = dns_trouble(ctx, msg, &c);
	if (verdict == SMFIS_CONTINUE || verdict == SMFIS_ACCEPT) {
		queue_headers(msg, &c);
		inbound_checks_record(&c, svc, conn, msg);
		verdict = dispose(ctx, conn, msg, &c);
	}
	log_summary(conn, msg, &c, verdict);
	inbound_checks_free(&c);
	return verdict;
}
