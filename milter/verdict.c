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
	char text[256];

	log_error(qid, "%s: %s; action=%s", failure, detail, policy_action_name(action));
	switch (action) {
	case ACTION_ACCEPT:
		return SMFIS_ACCEPT;
	case ACTION_REJECT:
		snprintf(text, sizeof(text), "mailward: %s", failure);
		smfi_setreply(ctx, "554", "5.3.0", text);
		return SMFIS_REJECT;
	case ACTION_TEMPFAIL:
	default:
		snprintf(text, sizeof(text), "mailward: %s, try again later", failure);
		smfi_setreply(ctx, "451", "4.3.0", text);
		return SMFIS_TEMPFAIL;
	}
}
