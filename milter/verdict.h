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
/*
 * The same with the subject.detail of the enhanced status code: "3.0"
 * (mailward's own trouble, what verdict_on_failure() uses) or "7.0" (a
 * security check could not complete, e.g. DNS for DMARC).
 */
sfsistat verdict_on_failure_status(SMFICTX *ctx, enum policy_action action, const char *qid,
                                   const char *failure, const char *detail, const char *status);

#endif
