/*
 * mailfrom - the aligned custom MAIL FROM (VERP); see mailfrom.h.
 */
#include "config.h"

#include <stdlib.h>

#include "common/header.h"
#include "common/verp.h"
#include "common/xalloc.h"
#include "milter/context.h"
#include "milter/mailfrom.h"

enum mailfrom_outcome
mailfrom_rewrite(SMFICTX *ctx, const struct msg *msg, struct buf *out)
{
	const struct policy *p = msg->policy;
	char *domain = first_address_domain(msg->common[COMMON_FROM]);
	const char *bounce = policy_bounce_domain(p, domain);
	char token[VERP_TOKEN_TEXT];

	free(domain);
	if (bounce == NULL || *msg->sender == '\0' || p->verp_key_count == 0)
		return MAILFROM_UNCHANGED;
	struct verp_token t = {
		.mail = msg->id,
		.stream_hash = msg->stream ? (uint16_t)verp_hash(msg->stream) : 0,
		.rcpt_hash = msg->rcpt_count == 1 ? verp_hash(msg->rcpts[0]) : 0,
	};
	verp_encode(&p->verp_key_table[0], &t, token);
	buf_printf(out, "b-%s@%s", token, bounce);
	char *arg = xasprintf("<%s>", buf_str(out));
	int r = smfi_chgfrom(ctx, arg, NULL);
	free(arg);
	return r == MI_SUCCESS ? MAILFROM_REWRITTEN : MAILFROM_FAILED;
}
