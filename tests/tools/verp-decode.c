/*
 * verp-decode - check a bounce address against a policy's VERP secrets
 *
 *   verp-decode POLICY ADDRESS-OR-TOKEN
 *
 * Prints "mail_id=ID key=N rcpt_hash=HEX" and exits 0 for a genuine token;
 * exits 1 for a forged or malformed one.  A test driver for the aligned
 * MAIL FROM (the feedback side decodes tokens the same way).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/verp.h"
#include "policy/policy.h"

int
main(int argc, char **argv)
{
	struct buf errors = BUF_INIT;
	struct policy *policy;
	struct verp_token t;
	char token[128], id[MAIL_ID_TEXT];

	if (argc != 3) {
		fprintf(stderr, "usage: verp-decode POLICY ADDRESS-OR-TOKEN\n");
		return 2;
	}
	policy = policy_load(argv[1], &errors);
	if (policy == NULL) {
		fprintf(stderr, "%s", buf_str(&errors));
		return 2;
	}
	const char *start = strncmp(argv[2], "b-", 2) == 0 ? argv[2] + 2 : argv[2];
	snprintf(token, sizeof(token), "%.*s", (int)strcspn(start, "@"), start);
	if (verp_decode(policy->verp_key_table, policy->verp_key_count, token, &t) < 0) {
		printf("refused\n");
		return 1;
	}
	mail_id_text(&t.mail, id);
	printf("mail_id=%s key=%u rcpt_hash=%08x\n", id, t.key_id, (unsigned)t.rcpt_hash);
	return 0;
}
