/*
 * sign - DKIM signing of outbound mail
 *
 * sign_begin() (end of headers) looks up the signing-table entries for the
 * From domain and starts the body hashes they need (one per body
 * canonicalization, shared by every signature); sign_body() feeds body
 * chunks; sign_finish() (end of message) makes one DKIM-Signature per
 * entry in a single pass and queues them for the top of the message.
 */
#ifndef MW_SIGN_H
#define MW_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include <libmilter/mfapi.h>

#include "common/buf.h"

struct msg;
struct sign_state;

#define SIGN_MAX_KEYS 8

enum sign_outcome {
	SIGN_SIGNED, /* signatures added */
	SIGN_NO_KEY, /* no signing-table entry for the From domain */
	SIGN_FAILED, /* internal error (reason in err) */
};

/* NULL when nothing is to be signed (no key for the From domain). */
struct sign_state *sign_begin(const struct msg *msg);
void sign_body(struct sign_state *state, const unsigned char *data, size_t len);
enum sign_outcome sign_finish(struct msg *msg, struct buf *done, struct buf *err);
void sign_free(struct sign_state *state);

/* Add a Message-ID when the message has none (policy signing.add_message_id). */
int sign_add_message_id(struct msg *msg);

/*
 * Add a Date when the message has none (the same setting): otherwise the
 * MTA may add one after signing (Sendmail does, at delivery), and the
 * signature, which covers the Date field, no longer verifies.
 */
int sign_add_date(struct msg *msg);

#endif
