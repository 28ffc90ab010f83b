/*
 * fuzz_authres - the check that removes forged Authentication-Results
 *
 * The input is an Authentication-Results value, then "%%" and the
 * authserv-id to look for (default "mx.example.org").
 */
#include "config.h"

#include <stdlib.h>

#include "milter/authres.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts parts;

	fuzz_quiet();
	fuzz_split(data, size, 2, &parts);
	authres_claims(parts.part[0], parts.count > 1 ? parts.part[1] : "mx.example.org");
	fuzz_parts_free(&parts);
	return 0;
}
