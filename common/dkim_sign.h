/*
 * dkim_sign - DKIM signatures with keys loaded once (RFC 6376, RFC 8463)
 *
 * dkim_key_load() reads a PEM private key and checks it the way an
 * administrator expects a mail signer to: a regular file, not readable or
 * writable by others, of the configured algorithm, RSA at least 1024 bits.
 * The key is parsed once per policy snapshot, never per message.
 *
 * dkim_signature() builds the value of one DKIM-Signature header field for
 * a message's header fields and its body hash: it chooses the h= list
 * (every instance of each signed name, plus one more for oversigned names
 * so that nobody can add one later), hashes the canonical headers, and
 * signs with RSA-SHA256 or Ed25519-SHA256 (Ed25519 over the SHA-256 digest
 * of the headers, as RFC 8463 says).
 */
#ifndef MW_DKIM_SIGN_H
#define MW_DKIM_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/dkim_canon.h"
#include "common/header.h"

enum dkim_alg {
	DKIM_ALG_RSA_SHA256,
	DKIM_ALG_ED25519_SHA256,
};

struct dkim_key {
	EVP_PKEY *pkey;
	enum dkim_alg alg;
	int bits;
};

int dkim_key_load(const char *path, enum dkim_alg alg, struct dkim_key *key, struct buf *err);
void dkim_key_free(struct dkim_key *key);
const char *dkim_alg_name(enum dkim_alg alg);
/* The p= value of the DNS record (base64 SPKI for RSA, raw key for Ed25519). */
int dkim_key_public_record(const struct dkim_key *key, struct buf *out);

/*
 * The header fields signed by default (those a recipient sees or acts on)
 * and those oversigned (signed once more than present, so that a copy
 * added in transit breaks the signature instead of deceiving the reader).
 */
extern const char *const dkim_default_sign_headers[];
extern const char *const dkim_default_oversign_headers[];

struct dkim_sig_params {
	const char *domain;
	const char *selector;
	enum dkim_canon header_canon;
	enum dkim_canon body_canon;
	const char *const *sign_headers;     /* NULL-terminated, case-insensitive */
	const char *const *oversign_headers; /* NULL-terminated, subset worth oversigning */
	time_t timestamp;                    /* t= */
	long expire_after;                   /* x= t + this; 0: no x= */
};

/*
 * The DKIM-Signature value (without "DKIM-Signature:"), folded with "\n\t"
 * as libmilter expects header values.  0, or -1 with a reason in err.
 */
int dkim_signature(const struct dkim_key *key, const struct dkim_sig_params *params,
                   const struct header *headers, size_t header_count, const unsigned char bh[32],
                   struct buf *value, struct buf *err);

#endif
