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

bool
mailfrom_rewrite(struct msg *msg, struct buf *out)
{
	const struct policy *p = msg->policy;
	char *domain = first_address_domain(msg->common[COMMON_FROM]);
	const char *bounce = policy_bounce_domain(p, domain);
	char token[VERP_TOKEN_TEXT];

	free(domain);
	if (bounce == NULL || *msg->sender == '\0' || p->verp_key_count == 0)
		return false;
	struct verp_token t = {
		.mail = msg->id,
		.stream_hash = msg->stream ? (uint16_t)verp_hash(msg->stream) : 0,
		.rcpt_hash = msg->rcpt_count == 1 ? verp_hash(msg->rcpts[0]) : 0,
	};
	verp_encode(&p->verp_key_table[0], &t, token);
	buf_printf(out, "b-%s@%s", token, bounce);
	edit_set_sender(msg, buf_str(out));
	return true;
}
