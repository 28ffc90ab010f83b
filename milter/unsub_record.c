/*
 * unsub_record - honour an unsubscribe token; see unsub_record.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/suppression.h"
#include "milter/events.h"
#include "milter/stats.h"
#include "milter/unsub_record.h"

enum unsub_check
unsub_check(const struct policy *policy, const char *text, struct unsub_token *token)
{
	return unsub_check_at(policy, text, time(NULL), token);
}

enum unsub_check
unsub_check_at(const struct policy *policy, const char *text, time_t now, struct unsub_token *token)
{
	size_t len = strlen(text);

	if (len == 0 || len > UNSUB_TOKEN_MAX ||
	    strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != len)
		return UNSUB_MALFORMED;
	if (unsub_token_decode(policy->verp_key_table, policy->verp_key_count, text, len, token) <
	    0)
		return UNSUB_INVALID;
	if (now - token->issued > (time_t)policy->unsubscribe_token_days * 86400)
		return UNSUB_EXPIRED;
	return UNSUB_OK;
}

const char *
unsub_check_name(enum unsub_check check)
{
	return check == UNSUB_MALFORMED ? "malformed"
	       : check == UNSUB_EXPIRED ? "expired"
	       : check == UNSUB_INVALID ? "invalid"
	                                : "ok";
}

int
unsub_record(const struct services *svc, const struct policy *policy,
             const struct unsub_token *token, const char *via)
{
	struct suppression_entry entry = { .reason = SUPPRESSION_UNSUBSCRIBE, .time = time(NULL) };
	struct buf err = BUF_INIT;
	char name[SPOOL_NAME_MAX];
	size_t len = 0;
	char *event;
	int rc = -1;

	snprintf(entry.address, sizeof(entry.address), "%s", token->rcpt);
	snprintf(entry.scope, sizeof(entry.scope), "%s", token->stream);
	event = event_subscription_json(token, policy->event_shape, &len);
	if (event == NULL)
		log_error(NULL, "unsubscribe: cannot build the Subscription event");
	else if (suppression_add(svc->store, &entry, &err) < 0)
		log_error(NULL, "unsubscribe: %s not recorded: %s", token->rcpt, buf_str(&err));
	else if (spool_write(svc->spool, event, len, name) < 0)
		log_error(NULL, "unsubscribe: Subscription event for %s not written: %m",
		          token->rcpt);
	else
		rc = 0;
	if (rc == 0) {
		stats_outbound_for(svc, policy, STATS_UNSUBSCRIBED, token->stream, NULL, 1);
		log_notice(NULL, "unsubscribe (%s): %s from stream \"%s\" topic \"%s\" event=%s",
		           via, token->rcpt, token->stream, token->topic, name);
	}
	free(event);
	buf_free(&err);
	return rc;
}
