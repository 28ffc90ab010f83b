/*
 * unsub_token - List-Unsubscribe tokens; see unsub_token.h.
 *
 * Layout before encoding: key id (1), issued minute (4, big-endian), stream
 * length (1) and bytes, topic length (1) and bytes, recipient (the rest of
 * the body), then the first 12 bytes of HMAC-SHA256(secret, body).
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "common/log.h"
#include "common/unsub_token.h"

#define TAG_BYTES 12
#define BODY_MAX  (1 + 4 + 1 + UNSUB_FIELD_MAX + 1 + UNSUB_FIELD_MAX + UNSUB_RCPT_MAX)
#define RAW_MAX   (BODY_MAX + TAG_BYTES)

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
tag_of(const struct verp_key *key, const unsigned char *body, size_t len,
       unsigned char tag[TAG_BYTES])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key->secret, key->secret_len, body, len,
	              mac, sizeof(mac), &mac_len) == NULL ||
	    mac_len < TAG_BYTES)
		log_panic("HMAC-SHA256 unavailable");
	memcpy(tag, mac, TAG_BYTES);
}

static void
base64url(const unsigned char *in, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		size_t n = len - i >= 3 ? 3 : len - i;
		char chunk[4];

		if (n > 1)
			v |= (unsigned)in[i + 1] << 8;
		if (n > 2)
			v |= in[i + 2];
		chunk[0] = alphabet[(v >> 18) & 63];
		chunk[1] = alphabet[(v >> 12) & 63];
		chunk[2] = alphabet[(v >> 6) & 63];
		chunk[3] = alphabet[v & 63];
		buf_append(out, chunk, n + 1);
	}
}

/* Decoded length, or -1 for a character outside the alphabet or a bad length. */
static long
unbase64url(const char *text, size_t len, unsigned char *out, size_t outmax)
{
	size_t n = 0;
	unsigned v = 0, bits = 0;

	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		const char *p = text[i] ? strchr(alphabet, text[i]) : NULL;
		if (p == NULL)
			return -1;
		v = (v << 6) | (unsigned)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == outmax)
				return -1;
			out[n++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	return v == 0 ? (long)n : -1; /* leftover bits must be zero: one text per token */
}

int
unsub_token_encode(const struct verp_key *key, const struct unsub_token *token, struct buf *out)
{
	size_t stream_len = strlen(token->stream), topic_len = strlen(token->topic);
	size_t rcpt_len = strlen(token->rcpt), n = 0;
	unsigned char raw[RAW_MAX];
	uint32_t minute = (uint32_t)(token->issued / 60);

	if (stream_len > UNSUB_FIELD_MAX || topic_len > UNSUB_FIELD_MAX || rcpt_len == 0 ||
	    rcpt_len > UNSUB_RCPT_MAX)
		return -1;
	raw[n++] = (unsigned char)key->id;
	raw[n++] = (unsigned char)(minute >> 24);
	raw[n++] = (unsigned char)(minute >> 16);
	raw[n++] = (unsigned char)(minute >> 8);
	raw[n++] = (unsigned char)minute;
	raw[n++] = (unsigned char)stream_len;
	memcpy(raw + n, token->stream, stream_len);
	n += stream_len;
	raw[n++] = (unsigned char)topic_len;
	memcpy(raw + n, token->topic, topic_len);
	n += topic_len;
	memcpy(raw + n, token->rcpt, rcpt_len);
	n += rcpt_len;
	tag_of(key, raw, n, raw + n);
	base64url(raw, n + TAG_BYTES, out);
	return 0;
}

static const struct verp_key *
find_key(const struct verp_key *keys, size_t count, unsigned id)
{
	for (size_t i = 0; i < count; i++)
		if (keys[i].id == id)
			return &keys[i];
	return NULL;
}

/* A field of at most max bytes, no NUL inside, copied out. */
static int
take_field(const unsigned char *p, size_t len, size_t max, char *out)
{
	if (len > max || memchr(p, '\0', len) != NULL)
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

int
unsub_token_decode(const struct verp_key *keys, size_t key_count, const char *text, size_t len,
                   struct unsub_token *token)
{
	unsigned char raw[RAW_MAX], tag[TAG_BYTES];
	long n = len <= UNSUB_TOKEN_MAX ? unbase64url(text, len, raw, sizeof(raw)) : -1;
	const struct verp_key *key;
	size_t body, at = 6, stream_len, topic_len;

	memset(token, 0, sizeof(*token));
	if (n < 1 + 4 + 1 + 1 + 1 + TAG_BYTES)
		return -1;
	body = (size_t)n - TAG_BYTES;
	if ((key = find_key(keys, key_count, raw[0])) == NULL)
		return -1;
	tag_of(key, raw, body, tag);
	if (CRYPTO_memcmp(tag, raw + body, TAG_BYTES) != 0)
		return -1;
	stream_len = raw[5];
	if (at + stream_len + 1 > body)
		return -1;
	topic_len = raw[at + stream_len];
	if (at + stream_len + 1 + topic_len >= body)
		return -1; /* the recipient may not be empty */
	if (take_field(raw + at, stream_len, UNSUB_FIELD_MAX, token->stream) < 0 ||
	    take_field(raw + at + stream_len + 1, topic_len, UNSUB_FIELD_MAX, token->topic) < 0 ||
	    take_field(raw + at + stream_len + 1 + topic_len,
	               body - (at + stream_len + 1 + topic_len), UNSUB_RCPT_MAX, token->rcpt) < 0)
		return -1;
	token->key_id = raw[0];
	token->issued = (time_t)((uint32_t)raw[1] << 24 | (uint32_t)raw[2] << 16 |
	                         (uint32_t)raw[3] << 8 | raw[4]) *
	                60;
	return 0;
}
