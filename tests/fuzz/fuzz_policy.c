/*
 * fuzz_policy - the policy file loader
 *
 * The loader reads a file by path (libconfig has no other way in that
 * keeps file:line in errors), so each input is written to one temporary
 * file of this process and loaded with policy_load(), exactly as the
 * daemon and "mailward -n" load it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "policy/policy.h"
#include "tests/fuzz/fuzz.h"

/* The temporary file, made on the first input and removed at exit. */
static char policy_path[] = "/tmp/mailward-fuzz-policy-XXXXXX";

static void
policy_path_remove(void)
{
	unlink(policy_path);
}

static const char *
policy_file(void)
{
	static int fd = -1;

	if (fd < 0) {
		fd = mkstemp(policy_path);
		if (fd < 0) {
			perror("mkstemp");
			abort();
		}
		atexit(policy_path_remove);
	}
	return policy_path;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = policy_file();
	struct buf errors = BUF_INIT;
	FILE *f = fopen(path, "w");

	fuzz_quiet();
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	policy_release(policy_load(path, &errors));
	buf_free(&errors);
	return 0;
}
