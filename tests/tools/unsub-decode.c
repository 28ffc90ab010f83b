/*
 * unsub-decode - check a List-Unsubscribe token against a policy's secrets
 *
 *   unsub-decode POLICY TOKEN
 *
 * Prints "rcpt=ADDRESS stream=NAME topic=NAME key=N" and exits 0 for a
 * genuine token; exits 1 for a forged or malformed one.  A test driver
 * (the one-click endpoint decodes tokens the same way).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/unsub_token.h"
#include "policy/policy.h"

int
main(int argc, char **argv)
{
	struct buf errors = BUF_INIT;
	struct policy *policy;
	struct unsub_token t;

	if (argc != 3) {
		fprintf(stderr, "usage: unsub-decode POLICY TOKEN\n");
		return 2;
	}
	policy = policy_load(argv[1], &errors);
	if (policy == NULL) {
		fprintf(stderr, "%s", buf_str(&errors));
		return 2;
	}
	if (unsub_token_decode(policy->verp_key_table, policy->verp_key_count, argv[2],
	                       strlen(argv[2]), &t) < 0) {
		printf("refused\n");
		return 1;
	}
	printf("rcpt=%s stream=%s topic=%s key=%u\n", t.rcpt, t.stream, t.topic, t.key_id);
	return 0;
}
