/*
 * store_impl - what the store's own modules (dmarc_history, ...) build on
 *
 * One SQLite connection serves every milter thread.  SQLite's serialized
 * mode makes each call safe, but a module's unit of work is several calls
 * (bind, step, reset; BEGIN ... COMMIT; last_insert_rowid), so a module
 * takes the store's lock around the whole unit, and reuses statements the
 * store prepared once for the connection instead of preparing per call.
 */
#ifndef MW_STORE_IMPL_H
#define MW_STORE_IMPL_H

#include <sqlite3.h>

#include "common/buf.h"
#include "common/store.h"

sqlite3 *store_db(struct store *store);
/* The Redis connection when the backend is Redis, else NULL. */
struct redis_store *store_redis(struct store *store);
const char *store_path(const struct store *store);

void store_lock(struct store *store);
void store_unlock(struct store *store);

/*
 * The statement for sql (a string constant: the cache keys on it), prepared
 * at its first use on this connection; NULL with the reason in err.  Call
 * with the lock held and sqlite3_reset() it before letting the lock go.
 * err may be NULL here and in store_run() (a ROLLBACK after an error).
 */
sqlite3_stmt *store_statement(struct store *store, const char *sql, struct buf *err);

/* Run sql (no results) with the lock held; 0, or -1 with the reason in err. */
int store_run(struct store *store, const char *sql, struct buf *err);

/*
 * An object a module keeps with this connection (the suppression list's
 * cache), found again by key (the address of something static in that
 * module) and released by store_close() before the connection closes.
 * Attach before other threads use the store; store_attachment() is then
 * safe from any thread (the set never changes afterwards).
 */
void store_attach(struct store *store, const void *key, void *object,
                  void (*release)(void *object));
void *store_attachment(struct store *store, const void *key);

#endif
