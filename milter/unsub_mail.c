/*
 * unsub_mail - unsubscribing by mail; see unsub_mail.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "milter/stats.h"
#include "milter/unsub_mail.h"
#include "milter/unsub_record.h"
#include "milter/verdict.h"

bool
unsub_mail_address(const struct policy *policy, const char *rcpt)
{
	char *address;
	bool match;

	if (*policy->unsubscribe_mailto == '\0')
		return false;
	address = address_strip_brackets(rcpt);
	match = strcasecmp(address, policy->unsubscribe_mailto) == 0;
	free(address);
	return match;
}

bool
unsub_mail_only(const struct msg *msg)
{
	return msg->unsub_rcpts > 0 && msg->unsub_rcpts == msg->rcpt_count;
}

/*
 * The token: the subject's last word ("unsubscribe TOKEN", perhaps after
 * a "Re:" a mail program added).  Into out; false when there is none.
 */
static bool
subject_token(const char *subject, char *out, size_t outlen)
{
	size_t end, start;

	if (subject == NULL)
		return false;
	end = strlen(subject);
	while (end > 0 && strchr(" \t\r\n", subject[end - 1]) != NULL)
		end--;
	start = end;
	while (start > 0 && strchr(" \t\r\n", subject[start - 1]) == NULL)
		start--;
	if (end == start || end - start >= outlen)
		return false;
	memcpy(out, subject + start, end - start);
	out[end - start] = '\0';
	return true;
}

sfsistat
unsub_mail_eom(SMFICTX *ctx, const struct services *svc, struct msg *msg)
{
	struct unsub_token token;
	char text[UNSUB_TOKEN_MAX + 1];
	enum unsub_check check = UNSUB_MALFORMED;

	if (subject_token(msg->common[COMMON_SUBJECT], text, sizeof(text)))
		check = unsub_check(msg->policy, text, &token);
	if (check != UNSUB_OK) {
		stats_bad_token(svc, unsub_check_name(check));
		log_notice(msg->qid,
		           "unsubscribe mail from=<%s>: %s token in the subject; delivered",
		           msg->sender, unsub_check_name(check));
		return SMFIS_CONTINUE;
	}
	if (unsub_record(svc, msg->policy, &token, "mail") < 0)
		return verdict_on_failure(ctx, msg->policy->on_spool_unwritable, msg->qid,
		                          "unsubscribe not recorded", "store or spool failed");
	log_info(msg->qid, "unsubscribe mail from=<%s> for %s: discarded", msg->sender, token.rcpt);
	return SMFIS_DISCARD;
}
