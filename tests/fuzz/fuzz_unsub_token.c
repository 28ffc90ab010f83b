/*
 * fuzz_unsub_token - the List-Unsubscribe token decoder
 *
 * The input is the token of a /u/TOKEN request.  A token that decodes must
 * encode again to text that decodes to the same fields.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/unsub_token.h"
#include "tests/fuzz/fuzz.h"

static const struct verp_key keys[] = {
	{ .id = 1, .secret = "first fuzzing secret, 32 bytes.", .secret_len = 32 },
	{ .id = 7, .secret = "another secret!!", .secret_len = 16 },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unsub_token token, again;
	struct buf text = BUF_INIT;

	fuzz_quiet();
	if (unsub_token_decode(keys, 2, (const char *)data, size, &token) != 0)
		return 0;
	if (unsub_token_encode(token.key_id == 1 ? &keys[0] : &keys[1], &token, &text) != 0 ||
	    unsub_token_decode(keys, 2, text.data, text.len, &again) != 0 ||
	    strcmp(again.rcpt, token.rcpt) != 0 || strcmp(again.stream, token.stream) != 0 ||
	    strcmp(again.topic, token.topic) != 0 || again.issued != token.issued)
		abort(); /* decoded a token the encoder cannot reproduce */
	buf_free(&text);
	return 0;
}
