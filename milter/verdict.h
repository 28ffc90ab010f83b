/*
 * verdict - the only place where a failure becomes a milter verdict
 *
 * Capability code returns a status; the callbacks hand failures here with
 * the failure class's configured action (policy "failure" section).  The
 * failure is logged once with the queue ID, and the MTA gets a reply text
 * that names mailward, so its own log says who deferred the message.
 */
#ifndef MW_VERDICT_H
#define MW_VERDICT_H

#include <stdbool.h>
#include <libmilter/mfapi.h>

#include "policy/policy.h"

sfsistat verdict_on_failure(SMFICTX *ctx, enum policy_action action, const char *qid,
                            const char *failure, const char *detail);

#endif
