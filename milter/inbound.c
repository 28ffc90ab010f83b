/*
 * inbound - end of an inbound message; see inbound.h.
 */
#include "config.h"

#include "common/log.h"
#include "milter/inbound.h"

sfsistat
inbound_eom(SMFICTX *ctx, const struct services *svc, struct conn *conn, struct msg *msg)
{
	log_info(msg->qid, "inbound %s client=%s[%s] from=<%s> nrcpt=%zu", msg->direction_reason,
	         conn->client_name, conn->client_ip, msg->sender, msg->rcpt_count);
	return SMFIS_ACCEPT;
}
