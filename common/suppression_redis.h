/*
 * suppression_redis - the suppression list in Redis (for suppression.c)
 *
 * The Redis side of suppression.h: one hash per (address, scope) and a
 * sorted set of every key in list order (redis_keys.h).  Addresses come
 * lower-cased and checked from suppression.c.  A write is one MULTI/EXEC
 * transaction (hash and index together), one round trip however many
 * entries it holds.  No cache in front: a lookup is one HMGET, which a
 * local Redis answers in well under a millisecond, and every instance sees
 * every change at once.
 */
#ifndef MW_SUPPRESSION_REDIS_H
#define MW_SUPPRESSION_REDIS_H

#include "common/redis_store.h"
#include "common/suppression.h"

/* Entries per transaction of an import. */
#define SUPPRESSION_REDIS_BATCH 1000

/* Upsert count entries (keys lower-cased) in one transaction; 0 or -1 (err). */
int suppression_redis_put(struct redis_store *rs, const struct suppression_entry *entries,
                          size_t count, struct buf *err);
/* 1 found (into out), 0 not there, -1 Redis trouble (err). */
int suppression_redis_get(struct redis_store *rs, const char *address, const char *scope,
                          struct suppression_entry *out, struct buf *err);
/* 1 removed, 0 not there, -1 Redis trouble. */
int suppression_redis_remove(struct redis_store *rs, const char *address, const char *scope,
                             struct buf *err);
/* As suppression_list(). */
long suppression_redis_list(struct redis_store *rs, const struct suppression_filter *filter,
                            suppression_fn each, void *arg, struct buf *err);

#endif
