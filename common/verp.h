/*
 * verp - mail IDs and the bounce-address token of the aligned MAIL FROM
 *
 * Every outbound message gets a mail ID, the "mail.messageId" of its
 * events (as SES gives each message its own ID): 16 bytes, the first six a
 * millisecond timestamp so IDs sort by time, the rest random; written as 26
 * lower-case base32 characters.
 *
 * The envelope sender of a signed message can be rewritten to
 * b-TOKEN@BOUNCE-DOMAIN.  TOKEN carries, under an HMAC-SHA256 tag (80
 * bits), everything the feedback side needs to tie a bounce to its message
 * without a lookup table: the mail ID, a hash of the sending stream, a
 * hash of the recipient (zero when the message had several: one envelope
 * sender serves them all, and the DSN names the recipient), and the id of
 * the key that made it, so keys can rotate.  33 bytes, 53 base32
 * characters: with "b-", 55, inside the 64 that RFC 5321 allows a local
 * part.  Base32 in one case survives MTAs that change the case of local
 * parts.
 */
#ifndef MW_VERP_H
#define MW_VERP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MAIL_ID_BYTES   16
#define MAIL_ID_TEXT    27 /* 26 characters and NUL */
#define VERP_TOKEN_TEXT 54
#define VERP_SECRET_MIN 16
#define VERP_SECRET_MAX 64

struct mail_id {
	unsigned char bytes[MAIL_ID_BYTES];
};

void mail_id_new(struct mail_id *id, const struct timespec *now);
void mail_id_text(const struct mail_id *id, char out[MAIL_ID_TEXT]);
/* Milliseconds since the epoch when the ID was made. */
uint64_t mail_id_millis(const struct mail_id *id);

struct verp_key {
	unsigned id; /* 0 to 255 */
	unsigned char secret[VERP_SECRET_MAX];
	size_t secret_len;
};

struct verp_token {
	struct mail_id mail;
	uint16_t stream_hash;
	uint32_t rcpt_hash; /* 0: several recipients */
	unsigned key_id;
};

/* 32-bit hash of a recipient (lower-cased) or a stream name; never 0 for a non-empty name. */
uint32_t verp_hash(const char *text);

void verp_encode(const struct verp_key *key, const struct verp_token *token,
                 char out[VERP_TOKEN_TEXT]);
/*
 * Decode and authenticate with whichever key the token names.  0, or -1
 * for anything malformed, an unknown key or a tag that does not match.
 */
int verp_decode(const struct verp_key *keys, size_t key_count, const char *text,
                struct verp_token *token);

#endif
