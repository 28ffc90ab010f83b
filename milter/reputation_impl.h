/*
 * reputation_impl - what the counting thread (reputation.c) asks of the
 * judging side (reputation_judge.c)
 */
#ifndef MW_REPUTATION_IMPL_H
#define MW_REPUTATION_IMPL_H

#include <time.h>

#include "common/reputation_store.h"
#include "common/spool.h"
#include "policy/policy.h"

/* Judge one stream or From domain now and act (warn, pause, re-arm). */
void reputation_judge(struct store *store, const struct policy *policy, enum reputation_kind kind,
                      const char *name, time_t now);
/* Resume every pause whose auto_resume time has come. */
void reputation_resume_due(struct store *store, time_t now);
/* Write the announced changes to the spool as events, with a log line each. */
void reputation_announce(struct store *store, struct spool *spool, const struct policy *policy);

#endif
