/*
 * outbound - end of an outbound message; see outbound.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "milter/events.h"
#include "milter/outbound.h"
#include "milter/verdict.h"

sfsistat
outbound_eom(SMFICTX *ctx, const struct services *svc, struct conn *conn, struct msg *msg)
{
	char name[SPOOL_NAME_MAX];
	size_t len = 0;
	char *event = event_send_json(conn, msg, &len);

	if (event == NULL)
		return verdict_on_failure(ctx, msg->policy->on_internal_error, msg->qid,
		                          "internal error", "cannot build the Send event");
	if (spool_write(svc->spool, event, len, name) < 0) {
		char detail[512];
		snprintf(detail, sizeof(detail), "Send event not written to %s: %s",
		         spool_dir(svc->spool), strerror(errno));
		free(event);
		return verdict_on_failure(ctx, msg->policy->on_spool_unwritable, msg->qid,
		                          "event spool unwritable", detail);
	}
	free(event);
	log_info(msg->qid, "outbound %s from=<%s> nrcpt=%zu event=%s", msg->direction_reason,
	         msg->sender, msg->rcpt_count, name);
	return SMFIS_ACCEPT;
}
