/*
 * send_index_redis - the Message-ID index of sent mail in Redis (for send_index.c)
 *
 * One hash per Message-ID (redis_keys.h: P send:MESSAGE-ID) with the
 * record's fields, the destinations joined by newlines as in SQLite, and
 * an EXPIREAT of the record's expires time; a batch is one MULTI/EXEC.
 */
#ifndef MW_SEND_INDEX_REDIS_H
#define MW_SEND_INDEX_REDIS_H

#include "common/redis_store.h"
#include "common/send_index.h"

int send_index_redis_add_many(struct redis_store *rs, const struct send_record *records,
                              size_t count, struct buf *err);
int send_index_redis_find(struct redis_store *rs, const char *message_id, struct send_record *out,
                          struct buf *err);

#endif
