/*
 * fuzz_dkim_sigparse - DKIM tag lists: signatures, key records, base64
 *
 * The input is read four ways, as a DKIM-Signature value, a key record, a
 * bare tag list and base64.  Tag offsets must stay inside the text, and a
 * parsed signature's b= cut must lie inside the value.
 */
#include "config.h"

#include <stdlib.h>

#include "common/dkim_sigparse.h"
#include "tests/fuzz/fuzz.h"

static void
fuzz_taglist(const char *text, size_t len)
{
	struct dkim_taglist *list = xmalloc(sizeof(*list));
	struct buf reason = BUF_INIT;

	if (dkim_taglist_parse(text, len, list, &reason) == DKIM_PARSE_OK) {
		for (size_t i = 0; i < list->count; i++) {
			const struct dkim_tag *t = &list->tags[i];

			if (t->name < text || t->name + t->name_len > text + len ||
			    t->value < text || t->value + t->value_len > text + len ||
			    t->cut_start > t->cut_end || t->cut_end > len)
				abort(); /* a tag outside the text */
		}
	}
	buf_free(&reason);
	free(list);
}

static void
fuzz_signature(const char *text, size_t len)
{
	struct dkim_sig sig = { 0 };
	struct buf reason = BUF_INIT;

	if (dkim_sig_parse(text, len, &sig, &reason) == DKIM_PARSE_OK &&
	    (sig.b_cut_start > sig.b_cut_end || sig.b_cut_end > len))
		abort(); /* b= outside the value */
	dkim_sig_free(&sig);
	buf_free(&reason);
}

static void
fuzz_key(const char *text, size_t len)
{
	struct dkim_pubkey key = { 0 };
	struct buf reason = BUF_INIT;

	dkim_pubkey_parse(text, len, &key, &reason);
	dkim_pubkey_free(&key);
	buf_free(&reason);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct buf decoded = BUF_INIT;

	fuzz_quiet();
	fuzz_taglist(text, size);
	fuzz_signature(text, size);
	fuzz_key(text, size);
	dkim_base64_decode(text, size, &decoded);
	buf_free(&decoded);
	free(text);
	return 0;
}
