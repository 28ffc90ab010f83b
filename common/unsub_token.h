/*
 * unsub_token - the token of a List-Unsubscribe URL (RFC 2369, RFC 8058)
 *
 * A bulk message's List-Unsubscribe names https://.../u/TOKEN (and a
 * mailto address with the token in its subject).  The token carries what
 * the one-click endpoint needs to record the unsubscribe without any
 * lookup table: the recipient, the sending stream and topic, when it was
 * made, and the id of the key whose HMAC-SHA256 tag (96 bits) protects it,
 * so keys rotate like the bounce-token keys (common/verp.h, whose struct
 * verp_key it shares).  Base64url without padding: URL-safe as it stands,
 * at most UNSUB_TOKEN_MAX characters.  Expiry is the endpoint's decision
 * (it knows the policy); the token only says when it was issued.
 */
#ifndef MW_UNSUB_TOKEN_H
#define MW_UNSUB_TOKEN_H

#include <stddef.h>
#include <time.h>

#include "common/buf.h"
#include "common/verp.h"

#define UNSUB_FIELD_MAX 64  /* stream and topic, bytes */
#define UNSUB_RCPT_MAX  254 /* an address, bytes (RFC 5321 path limit) */
#define UNSUB_TOKEN_MAX 540 /* characters */

struct unsub_token {
	unsigned key_id;
	time_t issued; /* kept to the minute */
	char stream[UNSUB_FIELD_MAX + 1];
	char topic[UNSUB_FIELD_MAX + 1];
	char rcpt[UNSUB_RCPT_MAX + 1];
};

/* Append the token's text to out; -1 when a field is too long or empty (rcpt). */
int unsub_token_encode(const struct verp_key *key, const struct unsub_token *token,
                       struct buf *out);
/*
 * Decode and authenticate with whichever key the token names: 0, or -1 for
 * anything malformed, an unknown key or a tag that does not match.
 */
int unsub_token_decode(const struct verp_key *keys, size_t key_count, const char *text, size_t len,
                       struct unsub_token *token);

#endif
