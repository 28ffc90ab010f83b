/*
 * unsub_record - honour an unsubscribe token, however it arrived
 *
 * The one-click endpoint (POST /u/TOKEN) and mail to the unsubscribe
 * address (its subject carries the token) end the same way: the token is
 * checked (well-formed, its MAC, its age), the recipient is suppressed for
 * the token's stream (reason UNSUBSCRIBE) and a Subscription event is
 * written to the spool, durably, before the caller answers.
 */
#ifndef MW_UNSUB_RECORD_H
#define MW_UNSUB_RECORD_H

#include <time.h>

#include "common/unsub_token.h"
#include "milter/services.h"
#include "policy/policy.h"

enum unsub_check { UNSUB_OK, UNSUB_MALFORMED, UNSUB_INVALID, UNSUB_EXPIRED };

/* Decode and verify token text into token. */
enum unsub_check unsub_check(const struct policy *policy, const char *text,
                             struct unsub_token *token);
/* The same at the time now (tests and fuzzing give their own clock). */
enum unsub_check unsub_check_at(const struct policy *policy, const char *text, time_t now,
                                struct unsub_token *token);
/* "malformed", "invalid" or "expired" (the metrics label and log word). */
const char *unsub_check_name(enum unsub_check check);
/* Suppress and record; via names the path in the log ("one-click", "mail"). 0 or -1. */
int unsub_record(const struct services *svc, const struct policy *policy,
                 const struct unsub_token *token, const char *via);

#endif
