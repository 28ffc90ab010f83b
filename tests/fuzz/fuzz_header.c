/*
 * fuzz_header - address lists of From/To/Cc and the UTF-8 sanitizer
 *
 * The input is a header field value.  addrlist_split() must give
 * addresses that address_domain() can read, first_address_domain() must
 * agree with the first of them, and utf8_sanitize() must always give valid
 * UTF-8 whatever the bytes were.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/header.h"
#include "common/utf8.h"
#include "tests/fuzz/fuzz.h"

static void
fuzz_addresses(const char *value)
{
	struct addrlist list = { 0 };

	addrlist_split(value, &list);
	for (size_t i = 0; i < list.count; i++)
		free(address_domain(list.items[i]));
	addrlist_free(&list);
	free(first_address_domain(value));
}

static void
fuzz_utf8(const char *data, size_t size)
{
	char *clean = utf8_sanitize(data, size);

	if (!utf8_valid(clean, strlen(clean)))
		abort(); /* the sanitizer let invalid UTF-8 through */
	if (utf8_valid(data, size) && memchr(data, '\0', size) == NULL && strcmp(clean, data) != 0)
		abort(); /* valid text must come out unchanged */
	free(clean);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = xstrndup((const char *)data, size);

	fuzz_quiet();
	fuzz_addresses(value);
	fuzz_utf8(value, size);
	free(value);
	return 0;
}
