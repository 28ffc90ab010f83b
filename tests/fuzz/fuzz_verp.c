/*
 * fuzz_verp - the bounce-address token decoder
 *
 * The input is the token a bounce brings back (the local part after
 * "b-").  A token that decodes must encode again to one that decodes to
 * the same fields: the decoder accepts nothing the encoder could not have
 * made.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/verp.h"
#include "tests/fuzz/fuzz.h"

static const struct verp_key keys[] = {
	{ .id = 1, .secret = "first fuzzing secret, 32 bytes.", .secret_len = 32 },
	{ .id = 7, .secret = "another secret!!", .secret_len = 16 },
};

static void
fuzz_roundtrip(const struct verp_token *token)
{
	const struct verp_key *key = token->key_id == keys[0].id ? &keys[0] : &keys[1];
	struct verp_token again;
	char text[VERP_TOKEN_TEXT];

	verp_encode(key, token, text);
	if (verp_decode(keys, 2, text, &again) != 0 ||
	    memcmp(&again.mail, &token->mail, sizeof(again.mail)) != 0 ||
	    again.stream_hash != token->stream_hash || again.rcpt_hash != token->rcpt_hash ||
	    again.key_id != token->key_id)
		abort(); /* decoded a token the encoder cannot reproduce */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct verp_token token;

	fuzz_quiet();
	if (verp_decode(keys, 2, text, &token) == 0)
		fuzz_roundtrip(&token);
	free(text);
	return 0;
}
