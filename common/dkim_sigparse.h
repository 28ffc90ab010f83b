/*
 * dkim_sigparse - DKIM tag lists: DKIM-Signature fields and key records
 *
 * RFC 6376 writes both the DKIM-Signature header field (3.5) and the key
 * record in DNS (3.6.1) as a tag list: "name=value" pairs separated by
 * ";", folding white space allowed around names, "=" and values, a tag
 * given twice invalidates the whole list, unknown tags are ignored.
 * dkim_taglist_parse() reads one into offsets of the original text, so
 * that the verifier can cut the b= value out of the field exactly as the
 * signer left it empty.
 *
 * dkim_sig_parse() checks a DKIM-Signature value the way section 6.1.1
 * asks a verifier to: the required tags v a b bh d h s; v=1; an algorithm
 * we accept (rsa-sha256, ed25519-sha256; rsa-sha1 is refused as RFC 8301
 * says); h= naming From; i= in d= or a subdomain of it; c=, l=, q=, t=,
 * x= well-formed and x= not before t=.  Whether x= has passed is the
 * verifier's question (it knows the time).
 *
 * dkim_pubkey_parse() reads a key record: v=DKIM1 (first, when present),
 * k= rsa or ed25519, h= allowing sha256, s= naming email, t= flags y
 * (testing) and s (strict i=), p= the key (empty: revoked).
 *
 * Outcomes: DKIM_PARSE_OK; DKIM_PARSE_SYNTAX when the text is not a tag
 * list at all (RFC 8601 "neutral": the signature contained syntax
 * errors); DKIM_PARSE_INVALID when it is one but breaks a rule above
 * (RFC 6376 PERMFAIL, reported as "permerror").  The reason is short and
 * fit for an Authentication-Results comment.  Everything is linear in the
 * length of the input: a tag list holds at most DKIM_TAGS_MAX tags.
 */
#ifndef MW_DKIM_SIGPARSE_H
#define MW_DKIM_SIGPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/dkim_canon.h"

/* Real signatures carry about 12 tags; more is an attack on the parser. */
#define DKIM_TAGS_MAX 64

struct dkim_tag {
	const char *name; /* into the parsed text, not NUL-terminated */
	size_t name_len;
	const char *value; /* without the white space around it */
	size_t value_len;
	size_t cut_start; /* offsets of everything between "=" and ";" */
	size_t cut_end;
};

struct dkim_taglist {
	struct dkim_tag tags[DKIM_TAGS_MAX];
	size_t count;
};

enum dkim_parse {
	DKIM_PARSE_OK,
	DKIM_PARSE_SYNTAX,
	DKIM_PARSE_INVALID,
};

enum dkim_parse dkim_taglist_parse(const char *text, size_t len, struct dkim_taglist *list,
                                   struct buf *reason);
/* The tag called name, or NULL. */
const struct dkim_tag *dkim_taglist_get(const struct dkim_taglist *list, const char *name);

/* Base64 with white space anywhere (RFC 6376 b=, bh=, p=); 0 or -1. */
int dkim_base64_decode(const char *text, size_t len, struct buf *out);

enum dkim_sig_alg {
	DKIM_SIG_RSA_SHA256,
	DKIM_SIG_ED25519_SHA256,
};

struct dkim_sig {
	/* Filled as far as parsing got, for the result even of a bad signature. */
	char *domain;    /* d= */
	char *selector;  /* s= */
	char *algorithm; /* a= as written */
	char *identity;  /* i= decoded, or "@" d= when absent */
	char b_prefix[9];

	enum dkim_sig_alg alg;
	enum dkim_canon header_canon;
	enum dkim_canon body_canon;
	struct buf b;   /* the signature, decoded */
	struct buf bh;  /* the body hash, decoded */
	char *h_text;   /* h= names, lower case, NUL-separated */
	const char **h; /* h_count pointers into h_text */
	size_t h_count;
	bool has_l, has_t, has_x;
	uint64_t l; /* UINT64_MAX when l= is too large to count */
	int64_t t, x;
	size_t b_cut_start, b_cut_end; /* the b= value in the field value */
};

enum dkim_parse dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig,
                               struct buf *reason);
void dkim_sig_free(struct dkim_sig *sig);

enum dkim_key_type {
	DKIM_KEY_RSA,
	DKIM_KEY_ED25519,
};

struct dkim_pubkey {
	enum dkim_key_type type;
	EVP_PKEY *pkey; /* NULL when revoked */
	int bits;
	bool revoked; /* p= empty */
	bool testing; /* t=y */
	bool strict;  /* t=s: i= must be in d= itself, not a subdomain */
};

enum dkim_parse dkim_pubkey_parse(const char *text, size_t len, struct dkim_pubkey *key,
                                  struct buf *reason);
void dkim_pubkey_free(struct dkim_pubkey *key);

#endif
