/*
 * inbound_checks - SPF, DKIM and DMARC for one inbound message
 *
 * inbound_checks_run() asks everything on one DNS budget and leaves the
 * outcome in struct inbound_checks: what each check found, the From domain
 * DMARC judged (the strictest outcome when From names several domains),
 * the policy to apply after t=, pct= and the local overrides, and why it
 * is less than the domain asked for.  It decides nothing about the
 * message itself: inbound.c does.
 */
#ifndef MW_INBOUND_CHECKS_H
#define MW_INBOUND_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/dkim_verify.h"
#include "common/dns.h"
#include "common/spf.h"
#include "milter/context.h"
#include "milter/services.h"
#include "policy/dmarc.h"

struct inbound_checks {
	char authserv_id[256];
	struct dns_budget budget;

	struct spf_request spf_request;
	bool spf_done;
	struct spf_outcome spf;

	const struct dkim_result *dkim; /* owned by the verifier */
	size_t n_dkim;

	char *from_domain;        /* A-labels; the domain DMARC judged */
	const char *from_problem; /* why DMARC could not be evaluated, or NULL */
	bool from_unjudged;       /* From names more domains than are judged */
	bool dmarc_done;
	struct dmarc_result dmarc;
	enum dmarc_policy applied; /* what mailward does */
	const char *override;      /* RFC 7489 PolicyOverrideType when applied < asked */
};

void inbound_checks_run(struct inbound_checks *c, const struct services *svc,
                        const struct conn *conn, const struct msg *msg, struct dkim_verify *dkim);
/* The DMARC history row for aggregate reports (inbound.dmarc_history). */
void inbound_checks_record(const struct inbound_checks *c, const struct services *svc,
                           const struct conn *conn, const struct msg *msg);
void inbound_checks_free(struct inbound_checks *c);

#endif
