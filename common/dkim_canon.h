/*
 * dkim_canon - DKIM canonicalization (RFC 6376 section 3.4)
 *
 * Header fields: dkim_canon_header() appends the canonical form of one
 * field to a buffer.  "simple" keeps the field as it is (with CRLF line
 * ends); "relaxed" lower-cases the name, unfolds, reduces runs of white
 * space to one space and drops white space at the ends of the value.
 *
 * Bodies are canonicalized as a stream, in chunks of any size (the milter
 * gets the body in pieces): struct dkim_body feeds the canonical bytes to
 * a SHA-256 context and holds back what it cannot decide yet (trailing
 * white space, empty lines that may turn out to be at the end).  Line ends
 * may be CRLF or bare LF; both count as one line end.
 *
 * A verifier of a signature with l= sets a limit: only the first limit
 * canonical bytes are hashed, while length keeps counting all of them (so
 * the verifier can tell a body shorter than l= and content appended after
 * the signed part).
 */
#ifndef MW_DKIM_CANON_H
#define MW_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/buf.h"

enum dkim_canon {
	DKIM_CANON_SIMPLE,
	DKIM_CANON_RELAXED,
};

/* name and value as the MTA gave them; value may contain folded lines. */
void dkim_canon_header(enum dkim_canon canon, const char *name, const char *value, struct buf *out,
                       bool crlf);

struct dkim_body {
	enum dkim_canon canon;
	EVP_MD_CTX *sha;
	size_t pending_crlf; /* empty lines held back: maybe the end of the body */
	bool pending_space;  /* relaxed: white space held back */
	bool line_started;   /* bytes seen on the current line */
	bool saw_cr;         /* last byte was CR (CRLF split across chunks) */
	uint64_t length;     /* canonical bytes so far (hashed or past the limit) */
	uint64_t limit;      /* hash at most this many (l=); UINT64_MAX: all */
};

void dkim_body_init(struct dkim_body *body, enum dkim_canon canon);
/* Hash only the first limit canonical bytes (RFC 6376 l=). */
void dkim_body_set_limit(struct dkim_body *body, uint64_t limit);
void dkim_body_update(struct dkim_body *body, const unsigned char *data, size_t len);
/* The body hash (32 bytes); the context is spent afterwards. */
void dkim_body_final(struct dkim_body *body, unsigned char digest[32]);
void dkim_body_free(struct dkim_body *body);

#endif
