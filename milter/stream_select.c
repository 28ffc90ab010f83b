/*
 * stream_select - the sending stream of a message; see stream_select.h.
 */
#include "config.h"

#include <stdlib.h>

#include "common/header.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "milter/stream_select.h"
#include "policy/streams.h"

static void
choose(struct msg *msg, const struct policy_stream *stream, const char *by)
{
	if (stream == NULL)
		return;
	free(msg->stream);
	msg->stream = xstrdup(stream->name);
	msg->stream_by = by;
}

void
stream_select_envelope(struct msg *msg)
{
	const struct policy_stream *stream = policy_stream_for_user(msg->policy, msg->auth_user);

	if (stream != NULL)
		choose(msg, stream, "auth_user");
	else
		choose(msg, (stream = policy_stream_for_sender(msg->policy, msg->sender)),
		       "sender");
	/* RCPT asks the account's list only if this stream wants it (milter/suppress.h). */
	msg->account_list_skipped =
	    stream != NULL && stream->suppression == SUPPRESSION_SCOPE_STREAM;
}

void
stream_select_final(struct msg *msg)
{
	if (msg->stream == NULL) {
		char *domain = first_address_domain(msg->common[COMMON_FROM]);
		choose(msg, policy_stream_for_domain(msg->policy, domain), "from_domain");
		free(domain);
	}
	if (msg->stream != NULL)
		log_debug(msg->qid, "stream=%s by=%s", msg->stream, msg->stream_by);
}
