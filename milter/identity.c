/*
 * identity - From addresses per sender; see identity.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/header.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "milter/events.h"
#include "milter/identity.h"
#include "milter/verdict.h"
#include "policy/streams.h"

/* An address fit for an SMTP reply and a log line: printable ASCII, no '%'. */
static char *
printable(char *address)
{
	for (char *p = address; *p; p++)
		if (*p < 0x21 || *p > 0x7e || *p == '%')
			*p = '?';
	return address;
}

/* The first From address its sender may not use (caller frees), or NULL when all are allowed. */
static char *
refused_from(const struct conn *conn, const struct msg *msg)
{
	const struct sockaddr *client =
	    conn->client_known ? (const struct sockaddr *)&conn->client : NULL;
	struct addrlist list;
	char *refused = NULL;

	addrlist_split(msg->common[COMMON_FROM] ? msg->common[COMMON_FROM] : "", &list);
	for (size_t i = 0; i < list.count && refused == NULL; i++) {
		char *spec = address_spec(list.items[i]);
		if (!policy_identity_allows(msg->policy, msg->auth_user, client, spec))
			refused = printable(spec);
		else
			free(spec);
	}
	if (list.count == 0) /* no From at all: nobody's identity */
		refused = xstrdup("");
	addrlist_free(&list);
	return refused;
}

static sfsistat
refuse(SMFICTX *ctx, const struct services *svc, const struct conn *conn, const struct msg *msg,
       const char *from)
{
	char who[200], text[700], name[SPOOL_NAME_MAX] = "", detail[400];
	size_t len = 0;
	char *event;

	if (msg->auth_user != NULL)
		snprintf(who, sizeof(who), "user %s", msg->auth_user);
	else
		snprintf(who, sizeof(who), "client %s",
		         *conn->client_ip ? conn->client_ip : "unknown");
	snprintf(text, sizeof(text), "mailward: <%s> is not an identity %s may send as", from, who);
	event = event_reject_json(conn, msg, text + strlen("mailward: "), &len);
	if (event == NULL || spool_write(svc->spool, event, len, name) < 0) {
		snprintf(detail, sizeof(detail), "Reject event for From <%s> not written: %s", from,
		         event ? strerror(errno) : "cannot build it");
		free(event);
		return verdict_on_failure(ctx, msg->policy->on_spool_unwritable, msg->qid,
		                          "event spool unwritable", detail);
	}
	free(event);
	log_notice(msg->qid, "identity refused: from=<%s> %s %s event=%s", from, who,
	           msg->direction_reason, name);
	smfi_setreply(ctx, "554", "5.7.1", text);
	return SMFIS_REJECT;
}

sfsistat
identity_check(SMFICTX *ctx, const struct services *svc, const struct conn *conn,
               const struct msg *msg)
{
	char *from;
	sfsistat verdict;

	if (msg->policy->identity_count == 0 || (from = refused_from(conn, msg)) == NULL)
		return SMFIS_CONTINUE;
	verdict = refuse(ctx, svc, conn, msg, from);
	free(from);
	return verdict;
}
