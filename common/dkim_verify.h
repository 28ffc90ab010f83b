/*
 * dkim_verify - DKIM signature verification (RFC 6376, RFC 8463, RFC 8301)
 *
 * The verifier has the signer's streaming shape, so the milter can feed it
 * as the MTA hands the message over and never keep the body:
 *
 *	v = dkim_verify_new(&options);
 *	dkim_verify_header(v, name, value);       each header field, in order
 *	dkim_verify_body(v, chunk, len);          each body chunk, in order
 *	dkim_verify_finish(v, resolver, budget, now);   end of message
 *	n = dkim_verify_results(v, &results);     one result per signature
 *	dkim_verify_free(v);
 *
 * Header values are as a milter gets them: everything after the colon,
 * folded lines joined with LF or CRLF.  The verifier keeps a copy of the
 * header (the signatures' h= lists pick fields from the bottom up), parses
 * each DKIM-Signature field as it arrives, and at the first body chunk
 * starts one body hash per distinct (body canonicalization, l=) pair, so
 * signatures that agree on those share the work.
 *
 * Cost is bounded whatever the message brings: only the first
 * max_signatures DKIM-Signature fields (top down, as the newest signature
 * is on top) are evaluated, each with at most one key lookup (lookups for
 * the same selector and domain are shared) and one public-key operation;
 * the rest are only counted (dkim_verify_skipped()).  Header work is
 * linear in the size of the header plus the h= lists: fields are indexed
 * by name once, and a tag list holds at most 64 tags.
 *
 * Results (RFC 8601 section 2.7.1):
 *	pass       the signature verified
 *	fail       body hash or signature mismatch, l= beyond the body
 *	neutral    the field is not a tag list (syntax error)
 *	policy     valid, but refused by local policy: an RSA key shorter than
 *	           min_rsa_bits, or l= when length_policy refuses it
 *	temperror  the key lookup failed temporarily (never "fail")
 *	permerror  everything RFC 6376 calls PERMFAIL: missing or bad tags,
 *	           unknown algorithm, rsa-sha1 (RFC 8301), i= outside d=, x=
 *	           passed, no key (NXDOMAIN/NODATA), revoked or unusable key
 */
#ifndef MW_DKIM_VERIFY_H
#define MW_DKIM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/dns.h"

enum dkim_length_policy {
	DKIM_LENGTH_ACCEPT, /* verify l= signatures; the result says how much is unsigned */
	DKIM_LENGTH_REFUSE, /* l= signatures get "policy" without being checked */
};

struct dkim_verify_options {
	unsigned max_signatures; /* DKIM-Signature fields evaluated per message */
	unsigned min_rsa_bits;   /* shorter RSA keys: "policy" */
	enum dkim_length_policy length_policy;
};

#define DKIM_VERIFY_MAX_SIGNATURES 5
#define DKIM_VERIFY_MIN_RSA_BITS   1024

void dkim_verify_options_default(struct dkim_verify_options *options);

enum dkim_verdict {
	DKIM_PASS,
	DKIM_FAIL,
	DKIM_NEUTRAL,
	DKIM_POLICY,
	DKIM_TEMPERROR,
	DKIM_PERMERROR,
};

/* One signature; strings are NULL when the signature did not say. */
struct dkim_result {
	enum dkim_verdict verdict;
	char *reason;     /* short, for a comment; NULL for a plain pass */
	char *domain;     /* header.d */
	char *selector;   /* header.s */
	char *identity;   /* header.i: i=, or "@" d= by default */
	char *algorithm;  /* header.a */
	char b_prefix[9]; /* header.b: the first 8 characters of b= */
	int key_bits;     /* 0 when no key was read */
	bool testing;     /* the key says t=y */
	bool has_l;
	uint64_t l;               /* l= */
	uint64_t unsigned_length; /* canonical body bytes after l=, on pass */
};

struct dkim_verify;

struct dkim_verify *dkim_verify_new(const struct dkim_verify_options *options);
void dkim_verify_header(struct dkim_verify *v, const char *name, const char *value);
void dkim_verify_body(struct dkim_verify *v, const unsigned char *data, size_t len);
/*
 * Look the keys up (budget may be NULL) and check every signature; now is
 * the time x= is compared with.
 */
void dkim_verify_finish(struct dkim_verify *v, struct dns_resolver *resolver,
                        struct dns_budget *budget, time_t now);
/* The results, in header order (top first); valid until dkim_verify_free(). */
size_t dkim_verify_results(const struct dkim_verify *v, const struct dkim_result **results);
/* DKIM-Signature fields past max_signatures, not evaluated. */
size_t dkim_verify_skipped(const struct dkim_verify *v);
/* Distinct body hashes computed (one per body canonicalization and l=). */
size_t dkim_verify_body_hashes(const struct dkim_verify *v);
void dkim_verify_free(struct dkim_verify *v);

const char *dkim_verdict_name(enum dkim_verdict verdict);

#endif
