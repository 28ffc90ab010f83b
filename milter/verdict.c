/*
 * verdict - failures to milter verdicts; see verdict.h.
 */
#include "config.h"

#include <stdio.h>

#include "common/log.h"
#include "milter/verdict.h"

sfsistat
verdict_on_failure(SMFICTX *ctx, enum policy_action action, const char *qid, const char *failure,
                   const char *detail)
{
	return verdict_on_failure_status(ctx, action, qid, failure, detail, "3.0");
}

sfsistat
verdict_on_failure_status(SMFICTX *ctx, enum policy_action action, const char *qid,
                          const char *failure, const char *detail, const char *status)
{
	char text[256], code[16];

	log_error(qid, "%s: %s; action=%s", failure, detail, policy_action_name(action));
	switch (action) {
	case ACTION_ACCEPT:
		return SMFIS_ACCEPT;
	case ACTION_REJECT:
		snprintf(text, sizeof(text), "mailward: %s", failure);
		snprintf(code, sizeof(code), "5.%s", status);
		smfi_setreply(ctx, "554", code, text);
		return SMFIS_REJECT;
	case ACTION_TEMPFAIL:
	default:
		snprintf(text, sizeof(text), "mailward: %s, try again later", failure);
		snprintf(code, sizeof(code), "4.%s", status);
		smfi_setreply(ctx, "451", code, text);
		return SMFIS_TEMPFAIL;
	}
}
