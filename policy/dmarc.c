/*
 * dmarc - DMARC evaluation of one message (RFC 9989 5.3); see dmarc.h.
 *
 * Discover the policy; then align: an identifier equal to the Author
 * Domain aligns in either mode, and under relaxed alignment one with the
 * same Organizational Domain does.  Organizational Domains are walked only
 * for identifiers that could share the author's, i.e. lie under it.  A
 * lookup that failed for now spoils the result only if nothing aligned
 * without it.  A failing message then gets p= (the author's own record),
 * or sp= / np= (a parent's record; np= for an author name that does not
 * exist), lowered one step by t=y or by a legacy pct= sample.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/xalloc.h"
#include "common/log.h"
#include "policy/dmarc.h"
#include "policy/dmarc_walk.h"

enum alignment {
	ALIGN_NO,
	ALIGN_YES,
	ALIGN_TEMPFAIL,
};

/* One evaluation in progress. */
struct eval {
	struct dmarc_walker walker;
	const struct dmarc_input *in;
	struct dmarc_result *out;
	char *author;      /* normalized */
	int author_walked; /* 0 not yet, 1 walked, -1 failed for now */
	struct dmarc_walk author_walk;
	bool tempfail; /* an alignment check could not be finished */
};

static char *
copy_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* The report row's identifiers and authentication results, whatever the outcome. */
static void
copy_identifiers(const struct dmarc_input *in, struct dmarc_result *out)
{
	out->header_from = copy_or_null(in->header_from);
	out->envelope_from = copy_or_null(in->envelope_from);
	out->envelope_to = copy_or_null(in->envelope_to);
	out->spf_domain = copy_or_null(in->spf_domain);
	out->spf_scope = in->spf_scope;
	out->spf = in->spf;
	out->n_dkim = in->n_dkim;
	out->dkim = in->n_dkim > 0 ? xcalloc(in->n_dkim, sizeof(*out->dkim)) : NULL;
	for (size_t i = 0; i < in->n_dkim; i++) {
		out->dkim[i].domain = copy_or_null(in->dkim[i].domain);
		out->dkim[i].selector = copy_or_null(in->dkim[i].selector);
		out->dkim[i].result = in->dkim[i].result;
	}
}

/* The author's Organizational Domain, walked once; NULL if a lookup failed for now. */
static const char *
author_org(struct eval *ev)
{
	if (ev->author_walked == 0) {
		ev->author_walked =
		    dmarc_walk_from(&ev->walker, ev->author, &ev->author_walk) == 0 ? 1 : -1;
		if (ev->author_walked == 1 && ev->out->org_domain == NULL)
			ev->out->org_domain = xstrdup(ev->author_walk.org);
	}
	return ev->author_walked == 1 ? ev->author_walk.org : NULL;
}

/* 3.2.10.1: relaxed alignment is a shared Organizational Domain. */
static enum alignment
align_relaxed(struct eval *ev, const char *id)
{
	const char *org = author_org(ev);
	struct dmarc_walk walk;

	if (org == NULL)
		return ALIGN_TEMPFAIL;
	/* id's Organizational Domain is id or a parent: outside org, it cannot be org. */
	if (!dmarc_domain_within(id, org))
		return ALIGN_NO;
	if (dmarc_walk_from(&ev->walker, id, &walk) < 0)
		return ALIGN_TEMPFAIL;
	return strcmp(walk.org, org) == 0 ? ALIGN_YES : ALIGN_NO;
}

static enum alignment
align(struct eval *ev, const char *identifier, enum dmarc_align mode)
{
	char *id = dmarc_domain_normalize(identifier);
	enum alignment a = ALIGN_NO;

	if (id == NULL)
		return ALIGN_NO;
	if (strcmp(id, ev->author) == 0)
		a = ALIGN_YES;
	else if (mode == DMARC_ALIGN_RELAXED)
		a = align_relaxed(ev, id);
	free(id);
	if (a == ALIGN_TEMPFAIL)
		ev->tempfail = true;
	return a;
}

static void
align_spf(struct eval *ev)
{
	const struct dmarc_input *in = ev->in;

	if (in->spf == DMARC_SPF_PASS && in->spf_domain != NULL)
		ev->out->spf_aligned = align(ev, in->spf_domain, ev->out->record.aspf) == ALIGN_YES;
}

/* 4.4.1: one aligned passing signature is enough; the rest are not checked. */
static void
align_dkim(struct eval *ev)
{
	struct dmarc_result *out = ev->out;

	for (size_t i = 0; i < out->n_dkim && !out->dkim_aligned; i++) {
		struct dmarc_auth_dkim *sig = &out->dkim[i];
		if (sig->result != DMARC_DKIM_PASS || sig->domain == NULL)
			continue;
		if (align(ev, sig->domain, out->record.adkim) == ALIGN_YES)
			sig->aligned = out->dkim_aligned = true;
	}
}

/* sp= or np= for a parent's record; np= asks whether the author name exists. */
static int
select_parent_policy(struct eval *ev)
{
	struct dmarc_result *out = ev->out;
	const struct dmarc_record *rec = &out->record;
	bool exists = true;

	out->requested = rec->sp;
	out->requested_tag = rec->sp_published ? DMARC_TAG_SP : DMARC_TAG_P;
	if (!rec->np_published || rec->np == rec->sp || out->status != DMARC_FAIL)
		return 0;
	if (dmarc_domain_exists(&ev->walker, ev->author, &exists) < 0)
		return -1;
	if (!exists) {
		out->nonexistent = true;
		out->requested = rec->np;
		out->requested_tag = DMARC_TAG_NP;
	}
	return 0;
}

static int
select_policy(struct eval *ev)
{
	struct dmarc_result *out = ev->out;

	if (out->source != DMARC_AT_AUTHOR)
		return select_parent_policy(ev);
	out->requested = out->record.p;
	out->requested_tag = DMARC_TAG_P;
	return 0;
}

static unsigned
random_draw(void)
{
	unsigned r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		log_panic("getrandom failed");
	return r % 100;
}

/* The legacy pct= sample: a number in 0..99. */
static unsigned
pct_draw(const struct dmarc_input *in)
{
	return in->pct_draw != NULL ? in->pct_draw(in->pct_arg) % 100 : random_draw();
}

static enum dmarc_policy
one_step_down(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE;
}

/* 4.7 t=, or RFC 7489 pct= on a record without t= (A.6: pct=0 is t=y). */
static void
apply_testing(struct eval *ev)
{
	struct dmarc_result *out = ev->out;
	const struct dmarc_record *rec = &out->record;
	bool legacy = !rec->t_published && rec->pct_published;

	out->policy = out->requested;
	if (out->requested == DMARC_POLICY_NONE)
		return;
	if (rec->testing || (legacy && rec->pct == 0))
		out->override = DMARC_OVERRIDE_TEST_MODE;
	else if (legacy && rec->pct < 100 && pct_draw(ev->in) >= rec->pct)
		out->override = DMARC_OVERRIDE_SAMPLED_OUT;
	if (out->override != DMARC_OVERRIDE_NONE)
		out->policy = one_step_down(out->requested);
}

static const char *
aligned_dkim_domain(const struct dmarc_result *out)
{
	for (size_t i = 0; i < out->n_dkim; i++)
		if (out->dkim[i].aligned)
			return out->dkim[i].domain;
	return NULL;
}

static void
explain_pass(struct dmarc_result *out)
{
	buf_puts(&out->reason, "aligned:");
	if (out->spf_aligned)
		buf_printf(&out->reason, " spf=%s", out->spf_domain);
	if (out->dkim_aligned)
		buf_printf(&out->reason, " dkim=%s", aligned_dkim_domain(out));
}

static void
explain_fail(struct dmarc_result *out, const char *author)
{
	static const char *const tags[] = { "p", "sp", "np" };
	static const char *const overrides[] = { "", ", lowered: test mode",
		                                 ", lowered: pct= sample" };

	buf_printf(&out->reason, "no SPF or DKIM pass aligned with %s; %s=%s at %s%s", author,
	           tags[out->requested_tag], dmarc_policy_name(out->requested), out->policy_domain,
	           overrides[out->override]);
}

/*
 * An SPF or DKIM check that failed temporarily for an identifier that would
 * align: once DNS answers it may pass, so the message has no DMARC verdict
 * yet (temperror), never a fail that a p=reject turns into a bounce.
 */
static bool
aligned_temperror(struct eval *ev)
{
	const struct dmarc_input *in = ev->in;
	struct dmarc_result *out = ev->out;

	if (in->spf == DMARC_SPF_TEMPERROR && in->spf_domain != NULL &&
	    align(ev, in->spf_domain, out->record.aspf) != ALIGN_NO) {
		buf_printf(&out->reason, "SPF temperror for %s; ", in->spf_domain);
		return true;
	}
	for (size_t i = 0; i < out->n_dkim; i++) {
		const struct dmarc_auth_dkim *sig = &out->dkim[i];
		if (sig->result == DMARC_DKIM_TEMPERROR && sig->domain != NULL &&
		    align(ev, sig->domain, out->record.adkim) != ALIGN_NO) {
			buf_printf(&out->reason, "DKIM temperror for %s; ", sig->domain);
			return true;
		}
	}
	return false;
}

static void
conclude(struct eval *ev)
{
	struct dmarc_result *out = ev->out;

	if (out->spf_aligned || out->dkim_aligned) {
		out->status = DMARC_PASS;
		select_policy(ev); /* no existence test on a pass: np= cannot matter */
		explain_pass(out);
		return;
	}
	out->status = ev->tempfail || aligned_temperror(ev) ? DMARC_TEMPERROR : DMARC_FAIL;
	if (out->status == DMARC_FAIL && select_policy(ev) < 0)
		out->status = DMARC_TEMPERROR;
	if (out->status == DMARC_TEMPERROR) {
		buf_printf(&out->reason, "DNS: %s", buf_str(&ev->walker.why));
		return;
	}
	apply_testing(ev);
	explain_fail(out, ev->author);
}

/* Discovery into the result: false when there is nothing to align against. */
static bool
take_discovery(struct eval *ev)
{
	struct dmarc_result *out = ev->out;
	struct dmarc_discovery disc;
	bool ready;

	memset(&disc, 0, sizeof(disc));
	buf_init(&disc.reason);
	dmarc_walker_discover(&ev->walker, ev->author, &disc);
	switch (disc.status) {
	case DMARC_FOUND_TEMPERROR:
		out->status = DMARC_TEMPERROR;
		buf_puts(&out->reason, "DNS: ");
		break;
	case DMARC_FOUND_NONE:
		out->status = DMARC_NONE;
		break;
	case DMARC_FOUND_RECORD:
		out->have_record = true;
		out->record = disc.record;
		memset(&disc.record, 0, sizeof(disc.record));
		out->policy_domain = disc.policy_domain;
		disc.policy_domain = NULL;
		out->source = disc.source;
		if (!disc.usable)
			out->status = DMARC_PERMERROR;
		break;
	}
	out->org_domain = disc.org_domain;
	disc.org_domain = NULL;
	buf_puts(&out->reason, buf_str(&disc.reason));
	ready = disc.status == DMARC_FOUND_RECORD && disc.usable;
	dmarc_discovery_free(&disc);
	return ready;
}

void
dmarc_evaluate(struct dns_resolver *resolver, struct dns_budget *budget,
               const struct dmarc_input *in, struct dmarc_result *out)
{
	struct eval ev = { .in = in, .out = out };

	memset(out, 0, sizeof(*out));
	buf_init(&out->reason);
	copy_identifiers(in, out);
	ev.author = dmarc_domain_normalize(in->header_from);
	if (ev.author == NULL) {
		out->status = DMARC_PERMERROR;
		buf_puts(&out->reason, "the From domain is not a domain name");
		return;
	}
	dmarc_walker_init(&ev.walker, resolver, budget);
	if (take_discovery(&ev)) {
		align_spf(&ev);
		align_dkim(&ev);
		conclude(&ev);
	}
	dmarc_walker_free(&ev.walker);
	free(ev.author);
}

void
dmarc_result_free(struct dmarc_result *res)
{
	dmarc_record_free(&res->record);
	free(res->policy_domain);
	free(res->org_domain);
	buf_free(&res->reason);
	free(res->header_from);
	free(res->envelope_from);
	free(res->envelope_to);
	free(res->spf_domain);
	for (size_t i = 0; i < res->n_dkim; i++) {
		free(res->dkim[i].domain);
		free(res->dkim[i].selector);
	}
	free(res->dkim);
	memset(res, 0, sizeof(*res));
}

const char *
dmarc_status_name(enum dmarc_status status)
{
	static const char *const names[] = { "none", "pass", "fail", "temperror", "permerror" };

	return (unsigned)status < sizeof(names) / sizeof(names[0]) ? names[status] : "?";
}

const char *
dmarc_policy_name(enum dmarc_policy policy)
{
	static const char *const names[] = { "none", "quarantine", "reject" };

	return (unsigned)policy < sizeof(names) / sizeof(names[0]) ? names[policy] : "?";
}

const char *
dmarc_spf_name(enum dmarc_spf spf)
{
	static const char *const names[] = { "none",     "neutral",   "pass",     "fail",
		                             "softfail", "temperror", "permerror" };

	return (unsigned)spf < sizeof(names) / sizeof(names[0]) ? names[spf] : "?";
}

const char *
dmarc_dkim_name(enum dmarc_dkim dkim)
{
	static const char *const names[] = { "none",    "pass",      "fail",     "policy",
		                             "neutral", "temperror", "permerror" };

	return (unsigned)dkim < sizeof(names) / sizeof(names[0]) ? names[dkim] : "?";
}
