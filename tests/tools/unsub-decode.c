/*
 * unsub-decode - check a List-Unsubscribe token against a policy's secrets
 *
 *   unsub-decode POLICY TOKEN
 *   unsub-decode POLICY --encode RCPT STREAM TOPIC [SECONDS-AGO]
 *
 * Prints "rcpt=ADDRESS stream=NAME topic=NAME key=N" and exits 0 for a
 * genuine token; exits 1 for a forged or malformed one.  --encode prints a
 * token made with the policy's first key, issued SECONDS-AGO seconds ago.
 * A test driver (the one-click endpoint decodes tokens the same way).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/unsub_token.h"
#include "policy/policy.h"

int
main(int argc, char **argv)
{
	struct buf errors = BUF_INIT;
	struct policy *policy;
	struct unsub_token t;

	if (argc != 3 && !(argc >= 6 && strcmp(argv[2], "--encode") == 0)) {
		fprintf(stderr,
		        "usage: unsub-decode POLICY TOKEN\n"
		        "       unsub-decode POLICY --encode RCPT STREAM TOPIC [SECONDS-AGO]\n");
		return 2;
	}
	policy = policy_load(argv[1], &errors);
	if (policy == NULL || policy->verp_key_count == 0) {
		fprintf(stderr, "%s", policy ? "no feedback.verp_keys\n" : buf_str(&errors));
		return 2;
	}
	if (argc >= 6) {
		struct unsub_token in = { .key_id = policy->verp_key_table[0].id,
			                  .issued = time(NULL) - (argc > 6 ? atol(argv[6]) : 0) };
		struct buf text = BUF_INIT;

		snprintf(in.rcpt, sizeof(in.rcpt), "%s", argv[3]);
		snprintf(in.stream, sizeof(in.stream), "%s", argv[4]);
		snprintf(in.topic, sizeof(in.topic), "%s", argv[5]);
		if (unsub_token_encode(&policy->verp_key_table[0], &in, &text) < 0)
			return 2;
		printf("%s\n", buf_str(&text));
		return 0;
	}
	if (unsub_token_decode(policy->verp_key_table, policy->verp_key_count, argv[2],
	                       strlen(argv[2]), &t) < 0) {
		printf("refused\n");
		return 1;
	}
	printf("rcpt=%s stream=%s topic=%s key=%u\n", t.rcpt, t.stream, t.topic, t.key_id);
	return 0;
}
