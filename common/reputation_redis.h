/*
 * reputation_redis - reputation counters, states and announcements in Redis
 *
 * The Redis side of reputation_store.h (for reputation_store.c), with the
 * same contract; the keys are in redis_keys.h.  Counters are hourly hashes
 * bumped with HINCRBY, each with an EXPIRE of REPUTATION_KEEP_HOURS, so
 * nothing needs pruning; a per-hour set names what was counted in that
 * hour (for the daemon's periodic judging of everything).
 *
 * A change of state is one Lua script (EVAL): compare the stored state
 * with the expected one, take the baseline bucket, write the state hash
 * and push the announcement, atomically, so two instances judging the
 * same stream at once change it once and announce it once.
 *
 * The announcement outbox is a list.  Each daemon's writer pops from it
 * (LPOP: every announcement goes to exactly one instance) and writes the
 * event to its own spool; one its spool refused goes back to the head of
 * the list (LPUSH) for the next round.  So no announcement is written
 * twice; one can be lost only if the instance dies between the pop and its
 * spool write (a window of microseconds, at most one per dying instance).
 */
#ifndef MW_REPUTATION_REDIS_H
#define MW_REPUTATION_REDIS_H

#include "common/redis_store.h"
#include "common/reputation_store.h"

int reputation_redis_add(struct redis_store *rs, const struct reputation_increment *rows,
                         size_t count, struct buf *err);
int reputation_redis_window(struct redis_store *rs, enum reputation_kind kind, const char *name,
                            time_t now, long hours, const struct reputation_record *rec,
                            struct reputation_counts *out, struct buf *err);
int reputation_redis_get(struct redis_store *rs, enum reputation_kind kind, const char *name,
                         struct reputation_record *out, struct buf *err);
int reputation_redis_change(struct redis_store *rs, struct reputation_record *rec,
                            enum reputation_state expect, bool rebase, const char *type,
                            const char *body, struct buf *err);
int reputation_redis_states(struct redis_store *rs, bool paused_only, reputation_record_fn fn,
                            void *arg, struct buf *err);
int reputation_redis_names(struct redis_store *rs, int64_t first_hour, reputation_name_fn fn,
                           void *arg, struct buf *err);
int reputation_redis_notes(struct redis_store *rs, reputation_note_fn fn, void *arg,
                           struct buf *err);

#endif
