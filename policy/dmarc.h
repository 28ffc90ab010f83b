/*
 * dmarc - DMARC as DMARCbis has it (RFC 9989, which replaced RFC 7489)
 *
 * Four steps, each usable on its own:
 *
 *	dmarc_record_parse()  one TXT record -> struct dmarc_record (9989 4.7, 4.8)
 *	dmarc_discover()      the Author Domain -> the DMARC Policy Record that
 *	                      applies and where it was found: the DNS Tree Walk
 *	                      (4.10, 4.10.1), not a public suffix list
 *	dmarc_org_domain()    any domain -> its Organizational Domain (4.10.2)
 *	dmarc_evaluate()      From domain, SPF and DKIM results -> pass, fail, none,
 *	                      temperror or permerror, what aligned, the policy the
 *	                      domain asks for (p, sp or np) and the one to apply
 *	                      after t= (or a legacy pct=), and every field an
 *	                      aggregate report row needs (RFC 9990)
 *
 * DNS goes through common/dns.h only, on the message's budget.  A temporary
 * failure of any lookup the outcome depends on gives DMARC_TEMPERROR, never
 * "no record".  Lookups are made only when the outcome needs them: a record
 * at the Author Domain ends discovery after one query, Organizational
 * Domains are walked only for relaxed alignment of differing domains, and
 * the existence test only when np= would change the policy.  Within one
 * dmarc_evaluate() call each _dmarc name is asked once.
 *
 * Local overrides (monitor-only, per-domain or per-client exceptions) are not
 * applied here: the caller gets the policy the domain asks for and decides.
 *
 * Readings of the specification this module commits to:
 *
 *  - A record without a valid p=, or with an invalid sp= or np=, acts as
 *    "p=none" (sp and np too) when rua= holds a valid URI, and otherwise
 *    allows no DMARC processing: dmarc_evaluate() says permerror (4.10.1;
 *    4.7's "treated as p=none" points there).
 *  - A tag given twice has no valid value: p/sp/np fall under the rule above,
 *    the other tags take their defaults (RFC 6376 3.2 forbids duplicates;
 *    9989 4.8 says a syntax error yields the default).
 *  - Several DMARC records at one name are all discarded and the walk goes
 *    on, as if there were none (4.10 step 2).
 *  - A name is non-existent (np=) when A, AAAA and MX all answer NXDOMAIN;
 *    any answer or NODATA means it exists (3.2.13, A.4).
 *  - t= (y or n) wins over pct=.  Without t=, a legacy pct=0 acts as t=y and
 *    pct=1..99 samples: the policy applies when the draw (0..99) is below
 *    pct, else it drops one level (reject -> quarantine -> none).
 *  - No aligned pass, but an SPF or DKIM result that is temperror for an
 *    identifier that would align: temperror, not fail (it may pass once DNS
 *    answers; a fail under p=reject would bounce the message for good).
 *  - The walk never asks more than eight _dmarc names.  When it stops at
 *    psd=y on the seventh label of a longer name, the Organizational Domain
 *    below it was never asked, and the PSD's record applies.
 */
#ifndef MW_POLICY_DMARC_H
#define MW_POLICY_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/dns.h"

/* ---------------------------------------------------------------- records */

enum dmarc_policy {
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

enum dmarc_align {
	DMARC_ALIGN_RELAXED,
	DMARC_ALIGN_STRICT,
};

enum dmarc_psd {
	DMARC_PSD_UNSPEC, /* psd=u or absent: the tree walk decides */
	DMARC_PSD_YES,
	DMARC_PSD_NO,
};

/* fo= options (failure reports) */
#define DMARC_FO_0 0x1u /* all mechanisms failed to give an aligned pass (default) */
#define DMARC_FO_1 0x2u /* any mechanism failed to give an aligned pass */
#define DMARC_FO_D 0x4u /* a DKIM signature failed */
#define DMARC_FO_S 0x8u /* SPF failed */

struct dmarc_uris {
	char **uri; /* syntactically valid URIs, "!size" suffixes removed */
	size_t count;
};

struct dmarc_record {
	enum dmarc_policy p;  /* DMARC_POLICY_NONE when policy_fallback */
	enum dmarc_policy sp; /* as published, else p */
	enum dmarc_policy np; /* as published, else sp */
	bool sp_published;
	bool np_published;
	bool policy_fallback; /* p= missing or bad, or sp=/np= bad, rua= valid: p=none */
	enum dmarc_align adkim;
	enum dmarc_align aspf;
	bool testing; /* t=y */
	bool t_published;
	unsigned pct; /* RFC 7489 sampling rate; 100 when absent or invalid */
	bool pct_published;
	enum dmarc_psd psd;
	unsigned fo; /* DMARC_FO_* */
	struct dmarc_uris rua;
	struct dmarc_uris ruf;
	char *raw; /* the record as published, NUL-terminated */
	size_t raw_len;
};

enum dmarc_parse {
	DMARC_PARSE_OK,        /* usable, perhaps as p=none (policy_fallback) */
	DMARC_PARSE_NO_POLICY, /* a DMARC record, but no valid policy and no rua= */
	DMARC_PARSE_NOT_DMARC, /* v=DMARC1 is not its first tag: not a DMARC record */
};

/*
 * Parse one TXT record (its character-strings already joined; binary-safe).
 * rec is filled for OK and NO_POLICY (free it with dmarc_record_free()) and
 * left empty for NOT_DMARC.  err (may be NULL) gets one line per ignored or
 * invalid tag, or why the record is not usable.
 */
enum dmarc_parse dmarc_record_parse(const char *text, size_t len, struct dmarc_record *rec,
                                    struct buf *err);
void dmarc_record_copy(struct dmarc_record *dst, const struct dmarc_record *src);
void dmarc_record_free(struct dmarc_record *rec);

/* -------------------------------------------------------------- discovery */

enum dmarc_found {
	DMARC_FOUND_RECORD,
	DMARC_FOUND_NONE,
	DMARC_FOUND_TEMPERROR,
};

enum dmarc_source {
	DMARC_AT_AUTHOR, /* the Author Domain's own record: p= applies */
	DMARC_AT_ORG,    /* its Organizational Domain's: sp= or np= */
	DMARC_AT_PSD,    /* its Public Suffix Domain's (psd=y): sp= or np= */
};

struct dmarc_discovery {
	enum dmarc_found status;
	struct dmarc_record record; /* RECORD */
	bool usable;                /* RECORD: false for DMARC_PARSE_NO_POLICY */
	char *policy_domain;        /* RECORD: where the record was found */
	enum dmarc_source source;
	/*
	 * The Author Domain's Organizational Domain, or NULL when discovery did
	 * not need it (a record at the Author Domain without psd=); ask
	 * dmarc_org_domain() then.
	 */
	char *org_domain;
	struct buf reason; /* NONE, TEMPERROR, unusable record: why */
};

/*
 * author_domain in A-label form; a trailing dot and upper case are fine, a
 * name that is not a domain name finds nothing (DMARC_FOUND_NONE).
 */
enum dmarc_found dmarc_discover(struct dns_resolver *resolver, struct dns_budget *budget,
                                const char *author_domain, struct dmarc_discovery *out);
void dmarc_discovery_free(struct dmarc_discovery *disc);

/*
 * The Organizational Domain of domain into *org (caller frees): 0, or -1
 * on a temporary DNS failure or a name that is not a domain name (why in
 * err, may be NULL).  A domain with no record at or above it is its own
 * Organizational Domain.
 */
int dmarc_org_domain(struct dns_resolver *resolver, struct dns_budget *budget, const char *domain,
                     char **org, struct buf *err);

/* ------------------------------------------------------------- evaluation */

enum dmarc_spf {
	DMARC_SPF_NONE,
	DMARC_SPF_NEUTRAL,
	DMARC_SPF_PASS,
	DMARC_SPF_FAIL,
	DMARC_SPF_SOFTFAIL,
	DMARC_SPF_TEMPERROR,
	DMARC_SPF_PERMERROR,
};

enum dmarc_spf_scope {
	DMARC_SCOPE_MFROM,
	DMARC_SCOPE_HELO, /* only for a null reverse-path (RFC 7208 2.4) */
};

enum dmarc_dkim {
	DMARC_DKIM_NONE,
	DMARC_DKIM_PASS,
	DMARC_DKIM_FAIL,
	DMARC_DKIM_POLICY,
	DMARC_DKIM_NEUTRAL,
	DMARC_DKIM_TEMPERROR,
	DMARC_DKIM_PERMERROR,
};

struct dmarc_dkim_result {
	const char *domain;   /* d= */
	const char *selector; /* s=, for reports; may be NULL */
	enum dmarc_dkim result;
};

struct dmarc_input {
	const char *header_from;   /* the Author Domain (A-labels) */
	const char *envelope_from; /* RFC5321.MailFrom domain; NULL for <> (report) */
	const char *envelope_to;   /* first recipient's domain; may be NULL (report) */
	/*
	 * The SPF-checked identity DMARC may align: the MAIL FROM domain, or
	 * the HELO name when the reverse-path was null.  NULL: no SPF result.
	 */
	const char *spf_domain;
	enum dmarc_spf_scope spf_scope;
	enum dmarc_spf spf;
	const struct dmarc_dkim_result *dkim; /* every signature checked */
	size_t n_dkim;
	/*
	 * The legacy pct= sample, a number in 0..99: pct_draw(pct_arg), or
	 * from getrandom() when pct_draw is NULL (tests inject their own).
	 */
	unsigned (*pct_draw)(void *arg);
	void *pct_arg;
};

enum dmarc_status {
	DMARC_NONE, /* no DMARC Policy Record applies */
	DMARC_PASS,
	DMARC_FAIL,
	DMARC_TEMPERROR,
	DMARC_PERMERROR, /* unusable record or From domain */
};

enum dmarc_tag {
	DMARC_TAG_P,
	DMARC_TAG_SP,
	DMARC_TAG_NP,
};

enum dmarc_override {
	DMARC_OVERRIDE_NONE,
	DMARC_OVERRIDE_TEST_MODE,   /* t=y, or pct=0 */
	DMARC_OVERRIDE_SAMPLED_OUT, /* pct=1..99 and the draw was not below it */
};

struct dmarc_auth_dkim {
	char *domain;
	char *selector; /* NULL when not given */
	enum dmarc_dkim result;
	bool aligned;
};

struct dmarc_result {
	enum dmarc_status status;
	bool spf_aligned;  /* an SPF pass aligned with the From domain */
	bool dkim_aligned; /* a DKIM pass aligned with the From domain */
	/*
	 * The policy the domain asks for failing mail from this author, and
	 * the tag it came from (on a pass np= is not considered: the
	 * existence test is skipped); then what to apply after t= or pct=.
	 * policy is DMARC_POLICY_NONE unless status is DMARC_FAIL.
	 */
	enum dmarc_policy requested;
	enum dmarc_tag requested_tag;
	enum dmarc_policy policy;
	enum dmarc_override override;
	bool nonexistent; /* the Author Domain was found not to exist (np=) */
	/* The record that applies (have_record) and where it was found. */
	bool have_record;
	struct dmarc_record record;
	char *policy_domain;
	enum dmarc_source source;
	char *org_domain; /* the Author Domain's, when it had to be found; else NULL */
	struct buf reason;
	/* Identifiers and authentication results for the report row (copies). */
	char *header_from;
	char *envelope_from;
	char *envelope_to;
	char *spf_domain;
	enum dmarc_spf_scope spf_scope;
	enum dmarc_spf spf;
	struct dmarc_auth_dkim *dkim;
	size_t n_dkim;
};

/* Always fills out (release with dmarc_result_free()), whatever the status. */
void dmarc_evaluate(struct dns_resolver *resolver, struct dns_budget *budget,
                    const struct dmarc_input *in, struct dmarc_result *out);
void dmarc_result_free(struct dmarc_result *res);

/* Lower-case names as Authentication-Results and reports spell them. */
const char *dmarc_status_name(enum dmarc_status status);
const char *dmarc_policy_name(enum dmarc_policy policy);
const char *dmarc_spf_name(enum dmarc_spf spf);
const char *dmarc_dkim_name(enum dmarc_dkim dkim);

#endif
