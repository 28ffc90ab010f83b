/*
 * verp - mail IDs and bounce-address tokens; see verp.h.
 *
 * Token layout, before base32: key id (1), mail ID (16), stream hash (2),
 * recipient hash (4), HMAC-SHA256 of the first 23 bytes truncated to 10.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "common/verp.h"

#define TOKEN_BODY  23
#define TOKEN_TAG   10
#define TOKEN_BYTES (TOKEN_BODY + TOKEN_TAG)

static const char base32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

static void
base32_encode(const unsigned char *data, size_t len, char *out)
{
	unsigned buffer = 0;
	int bits = 0;

	for (size_t i = 0; i < len; i++) {
		buffer = (buffer << 8) | data[i];
		bits += 8;
		while (bits >= 5) {
			*out++ = base32_alphabet[(buffer >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		*out++ = base32_alphabet[(buffer << (5 - bits)) & 31];
	*out = '\0';
}

/* Decode exactly len bytes from text (case-insensitive); -1 if text is not that. */
static int
base32_decode(const char *text, unsigned char *out, size_t len)
{
	unsigned buffer = 0;
	int bits = 0;
	size_t n = 0, chars = (len * 8 + 4) / 5;

	if (strlen(text) != chars)
		return -1;
	for (const char *p = text; *p; p++) {
		const char *hit = strchr(base32_alphabet, tolower((unsigned char)*p));
		if (hit == NULL || *p == '\0')
			return -1;
		buffer = (buffer << 5) | (unsigned)(hit - base32_alphabet);
		bits += 5;
		if (bits >= 8) {
			out[n++] = (unsigned char)(buffer >> (bits - 8));
			bits -= 8;
		}
	}
	/* Padding bits must be zero, so each byte string has one spelling. */
	return n == len && (buffer & ((1u << bits) - 1)) == 0 ? 0 : -1;
}

void
mail_id_new(struct mail_id *id, const struct timespec *now)
{
	uint64_t ms = (uint64_t)now->tv_sec * 1000 + (uint64_t)now->tv_nsec / 1000000;

	for (int i = 5; i >= 0; i--, ms >>= 8)
		id->bytes[i] = (unsigned char)ms;
	if (getrandom(id->bytes + 6, MAIL_ID_BYTES - 6, 0) != MAIL_ID_BYTES - 6)
		log_panic("getrandom failed");
}

void
mail_id_text(const struct mail_id *id, char out[MAIL_ID_TEXT])
{
	base32_encode(id->bytes, MAIL_ID_BYTES, out);
}

uint64_t
mail_id_millis(const struct mail_id *id)
{
	uint64_t ms = 0;

	for (int i = 0; i < 6; i++)
		ms = (ms << 8) | id->bytes[i];
	return ms;
}

uint32_t
verp_hash(const char *text)
{
	unsigned char digest[32];
	unsigned int len = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)tolower((unsigned char)*p);
		EVP_DigestUpdate(md, &c, 1);
	}
	EVP_DigestFinal_ex(md, digest, &len);
	EVP_MD_CTX_free(md);
	uint32_t h = (uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 |
	             (uint32_t)digest[2] << 8 | digest[3];
	return h != 0 || *text == '\0' ? h : 1;
}

static void
token_tag(const struct verp_key *key, const unsigned char *body, unsigned char tag[TOKEN_TAG])
{
	unsigned char mac[32];
	size_t len = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key->secret, key->secret_len, body,
	              TOKEN_BODY, mac, sizeof(mac), &len) == NULL)
		log_panic("HMAC-SHA256 unavailable");
	memcpy(tag, mac, TOKEN_TAG);
}

void
verp_encode(const struct verp_key *key, const struct verp_token *t, char out[VERP_TOKEN_TEXT])
{
	unsigned char raw[TOKEN_BYTES];

	raw[0] = (unsigned char)key->id;
	memcpy(raw + 1, t->mail.bytes, MAIL_ID_BYTES);
	raw[17] = (unsigned char)(t->stream_hash >> 8);
	raw[18] = (unsigned char)t->stream_hash;
	raw[19] = (unsigned char)(t->rcpt_hash >> 24);
	raw[20] = (unsigned char)(t->rcpt_hash >> 16);
	raw[21] = (unsigned char)(t->rcpt_hash >> 8);
	raw[22] = (unsigned char)t->rcpt_hash;
	token_tag(key, raw, raw + TOKEN_BODY);
	base32_encode(raw, TOKEN_BYTES, out);
}

int
verp_decode(const struct verp_key *keys, size_t key_count, const char *text, struct verp_token *t)
{
	unsigned char raw[TOKEN_BYTES], tag[TOKEN_TAG];
	const struct verp_key *key = NULL;

	if (base32_decode(text, raw, TOKEN_BYTES) < 0)
		return -1;
	for (size_t i = 0; i < key_count && key == NULL; i++)
		if (keys[i].id == raw[0])
			key = &keys[i];
	if (key == NULL)
		return -1;
	token_tag(key, raw, tag);
	if (CRYPTO_memcmp(tag, raw + TOKEN_BODY, TOKEN_TAG) != 0)
		return -1;
	t->key_id = raw[0];
	memcpy(t->mail.bytes, raw + 1, MAIL_ID_BYTES);
	t->stream_hash = (uint16_t)(raw[17] << 8 | raw[18]);
	t->rcpt_hash =
	    (uint32_t)raw[19] << 24 | (uint32_t)raw[20] << 16 | (uint32_t)raw[21] << 8 | raw[22];
	return 0;
}
