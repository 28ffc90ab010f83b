/*
 * suppression - the suppression list; see suppression.h.
 *
 * Each public function checks the keys, then hands them to the store's
 * backend: the SQLite code here, or suppression_redis.c when the store is
 * on Redis (store_redis()).
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/store_impl.h"
#include "common/suppression.h"
#include "common/suppression_cache.h"
#include "common/suppression_redis.h"
#include "common/xalloc.h"

static const char *const reason_names[] = {
	[SUPPRESSION_BOUNCE] = "BOUNCE",
	[SUPPRESSION_COMPLAINT] = "COMPLAINT",
	[SUPPRESSION_UNSUBSCRIBE] = "UNSUBSCRIBE",
	[SUPPRESSION_MANUAL] = "MANUAL",
};

/* A stored reason word; MANUAL for one this version does not know. */
static enum suppression_reason
reason_of(const char *word)
{
	enum suppression_reason reason = SUPPRESSION_MANUAL;

	if (word != NULL)
		suppression_reason_parse(word, &reason);
	return reason;
}

static const char sql_put[] = "INSERT INTO suppression(address, scope, reason, time, message_id) "
                              "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(address, scope) DO UPDATE "
                              "SET reason = ?3, time = ?4, message_id = ?5";
static const char sql_get[] = "SELECT reason, time, message_id FROM suppression "
                              "WHERE address = ?1 AND scope = ?2";
static const char sql_del[] = "DELETE FROM suppression WHERE address = ?1 AND scope = ?2";

const char *
suppression_reason_name(enum suppression_reason reason)
{
	return (unsigned)reason < sizeof(reason_names) / sizeof(reason_names[0])
	           ? reason_names[reason]
	           : "MANUAL";
}

/* Lower-cased copy; -1 when empty or too long. */
static int
lowered(const char *in, char *out, size_t outlen, bool empty_ok)
{
	size_t len = strlen(in);

	if ((len == 0 && !empty_ok) || len >= outlen)
		return -1;
	for (size_t i = 0; i <= len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	return 0;
}

static int
keys(const char *address, const char *scope, char a[SUPPRESSION_ADDRESS_MAX + 1],
     char s[SUPPRESSION_SCOPE_MAX + 1], struct buf *err)
{
	if (lowered(address, a, SUPPRESSION_ADDRESS_MAX + 1, false) < 0 ||
	    strlen(scope) > SUPPRESSION_SCOPE_MAX) {
		buf_printf(err, "suppression: address or scope empty or too long");
		return -1;
	}
	snprintf(s, SUPPRESSION_SCOPE_MAX + 1, "%s", scope);
	return 0;
}

/* One statement (the caller holds the lock); its step result. */
static int
run_locked(struct store *store, const char *sql, const char *a, const char *s,
           const struct suppression_entry *entry, struct suppression_entry *out, struct buf *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_statement(store, sql, err)) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_text(stmt, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, s, -1, SQLITE_STATIC);
	if (entry != NULL) {
		sqlite3_bind_text(stmt, 3, suppression_reason_name(entry->reason), -1,
		                  SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 4, (sqlite3_int64)entry->time);
		sqlite3_bind_text(stmt, 5, entry->message_id, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && out != NULL) {
		const char *reason = (const char *)sqlite3_column_text(stmt, 0);
		const char *id = (const char *)sqlite3_column_text(stmt, 2);

		memset(out, 0, sizeof(*out));
		snprintf(out->address, sizeof(out->address), "%s", a);
		snprintf(out->scope, sizeof(out->scope), "%s", s);
		out->reason = reason_of(reason);
		out->time = (time_t)sqlite3_column_int64(stmt, 1);
		snprintf(out->message_id, sizeof(out->message_id), "%s", id ? id : "");
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		buf_printf(err, "%s: %s", store_path(store), sqlite3_errmsg(store_db(store)));
	sqlite3_clear_bindings(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE && sql == sql_del && sqlite3_changes(store_db(store)) > 0)
		rc = SQLITE_ROW; /* something was removed */
	return rc;
}

static int
run(struct store *store, const char *sql, const char *a, const char *s,
    const struct suppression_entry *entry, struct suppression_entry *out, struct buf *err)
{
	int rc;

	store_lock(store);
	rc = run_locked(store, sql, a, s, entry, out, err);
	store_unlock(store);
	return rc;
}

int
suppression_add(struct store *store, const struct suppression_entry *entry, struct buf *err)
{
	char a[SUPPRESSION_ADDRESS_MAX + 1], s[SUPPRESSION_SCOPE_MAX + 1];

	struct suppression_cache *cache;
	int rc;

	if (keys(entry->address, entry->scope, a, s, err) < 0)
		return -1;
	if (store_redis(store) != NULL) {
		struct suppression_entry e = *entry;

		memcpy(e.address, a, sizeof(a));
		memcpy(e.scope, s, sizeof(s));
		return suppression_redis_put(store_redis(store), &e, 1, err);
	}
	store_lock(store);
	rc = run_locked(store, sql_put, a, s, entry, NULL, err) == SQLITE_DONE ? 0 : -1;
	if (rc == 0 && (cache = suppression_cache_of(store)) != NULL)
		suppression_cache_added(cache, a, s);
	store_unlock(store);
	return rc;
}

int
suppression_get(struct store *store, const char *address, const char *scope,
                struct suppression_entry *out, struct buf *err)
{
	char a[SUPPRESSION_ADDRESS_MAX + 1], s[SUPPRESSION_SCOPE_MAX + 1];
	int rc;

	struct suppression_cache *cache;

	if (keys(address, scope, a, s, err) < 0)
		return 0; /* cannot be on the list */
	if (store_redis(store) != NULL)
		return suppression_redis_get(store_redis(store), a, s, out, err);
	store_lock(store);
	cache = suppression_cache_of(store);
	if (cache != NULL && !suppression_cache_maybe(cache, store, a, s))
		rc = SQLITE_DONE;
	else
		rc = run_locked(store, sql_get, a, s, NULL, out, err);
	store_unlock(store);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
suppression_remove(struct store *store, const char *address, const char *scope, struct buf *err)
{
	char a[SUPPRESSION_ADDRESS_MAX + 1], s[SUPPRESSION_SCOPE_MAX + 1];
	int rc;

	if (keys(address, scope, a, s, err) < 0)
		return 0;
	if (store_redis(store) != NULL)
		return suppression_redis_remove(store_redis(store), a, s, err);
	rc = run(store, sql_del, a, s, NULL, NULL, err);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static const char sql_list[] = "SELECT address, scope, reason, time, message_id FROM suppression "
                               "WHERE (address, scope) > (?1, ?2) AND (?3 IS NULL OR reason = ?3) "
                               "AND (?4 IS NULL OR scope = ?4) AND (?6 IS NULL OR time >= ?6) "
                               "AND (?7 IS NULL OR time < ?7) ORDER BY address, scope LIMIT ?5";

long
suppression_list(struct store *store, const struct suppression_filter *filter, suppression_fn each,
                 void *arg, struct buf *err)
{
	sqlite3_stmt *stmt;
	long n = 0;
	int rc;

	if (store_redis(store) != NULL)
		return suppression_redis_list(store_redis(store), filter, each, arg, err);
	store_lock(store);
	if ((stmt = store_statement(store, sql_list, err)) == NULL) {
		store_unlock(store);
		return -1;
	}
	sqlite3_bind_text(stmt, 1, filter->after_address ? filter->after_address : "", -1,
	                  SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, filter->after_scope ? filter->after_scope : "", -1,
	                  SQLITE_STATIC);
	if (filter->reason_set)
		sqlite3_bind_text(stmt, 3, suppression_reason_name(filter->reason), -1,
		                  SQLITE_STATIC);
	if (filter->scope != NULL)
		sqlite3_bind_text(stmt, 4, filter->scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, filter->limit);
	if (filter->since_set)
		sqlite3_bind_int64(stmt, 6, (sqlite3_int64)filter->since);
	if (filter->until_set)
		sqlite3_bind_int64(stmt, 7, (sqlite3_int64)filter->until);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct suppression_entry e = { 0 };
		const char *reason = (const char *)sqlite3_column_text(stmt, 2);

		snprintf(e.address, sizeof(e.address), "%s", sqlite3_column_text(stmt, 0));
		snprintf(e.scope, sizeof(e.scope), "%s", sqlite3_column_text(stmt, 1));
		e.reason = reason_of(reason);
		e.time = (time_t)sqlite3_column_int64(stmt, 3);
		snprintf(e.message_id, sizeof(e.message_id), "%s", sqlite3_column_text(stmt, 4));
		n++;
		if (each(&e, arg) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		buf_printf(err, "%s: %s", store_path(store), sqlite3_errmsg(store_db(store)));
		n = -1;
	}
	sqlite3_clear_bindings(stmt);
	sqlite3_reset(stmt);
	store_unlock(store);
	return n;
}

int
suppression_reason_parse(const char *word, enum suppression_reason *out)
{
	for (size_t i = 0; i < sizeof(reason_names) / sizeof(reason_names[0]); i++)
		if (strcasecmp(word, reason_names[i]) == 0) {
			*out = (enum suppression_reason)i;
			return 0;
		}
	return -1;
}

/* ---------------------------------------------------------------- import */

/*
 * A batch is sorted by key before it is written: the B-tree then takes its
 * rows in order, page after page, instead of at random (a fifth to a third
 * faster on a million random addresses).  The position in the input breaks ties, so
 * the last of two rows for one key still wins.
 */
struct import_row {
	struct suppression_entry entry; /* keys lower-cased */
	long seq;
};

struct suppression_import {
	struct store *store;
	struct redis_store *redis; /* the backend is Redis: batches of SUPPRESSION_REDIS_BATCH */
	struct import_row *rows;
	long count, done;
	bool failed;          /* a batch was rolled back: nothing more goes in */
	long long cache_size; /* the connection's, put back at the end */
};

static int
row_order(const void *x, const void *y)
{
	const struct import_row *a = x, *b = y;
	int c = strcmp(a->entry.address, b->entry.address);

	if (c == 0)
		c = strcmp(a->entry.scope, b->entry.scope);
	return c != 0 ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

struct suppression_import *
suppression_import_begin(struct store *store, struct buf *err)
{
	struct suppression_import *im = xcalloc(1, sizeof(*im));
	sqlite3_stmt *stmt;

	im->store = store;
	im->rows = xcalloc(SUPPRESSION_IMPORT_BATCH, sizeof(*im->rows));
	if ((im->redis = store_redis(store)) != NULL)
		return im;
	store_lock(store);
	if (sqlite3_prepare_v2(store_db(store), "PRAGMA cache_size", -1, &stmt, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(stmt) == SQLITE_ROW)
			im->cache_size = sqlite3_column_int64(stmt, 0);
		sqlite3_finalize(stmt);
	}
	/* 64 MiB of pages for the primary key and time index. */
	if (store_run(store, "PRAGMA cache_size = -65536", err) < 0) {
		store_unlock(store);
		free(im->rows);
		free(im);
		return NULL;
	}
	return im;
}

/* The batch, sorted, in one transaction. */
static int
import_write(struct suppression_import *im, struct buf *err)
{
	qsort(im->rows, (size_t)im->count, sizeof(*im->rows), row_order);
	if (store_run(im->store, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	for (long i = 0; i < im->count; i++) {
		const struct suppression_entry *e = &im->rows[i].entry;

		if (run_locked(im->store, sql_put, e->address, e->scope, e, NULL, err) !=
		    SQLITE_DONE) {
			store_run(im->store, "ROLLBACK", NULL);
			return -1;
		}
	}
	if (store_run(im->store, "COMMIT", err) < 0) {
		store_run(im->store, "ROLLBACK", NULL);
		return -1;
	}
	return 0;
}

/* The batch to Redis, in input order (the last of two rows for one key wins). */
static int
import_write_redis(struct suppression_import *im, struct buf *err)
{
	struct suppression_entry *entries = xcalloc((size_t)im->count, sizeof(*entries));
	int rc;

	for (long i = 0; i < im->count; i++)
		entries[i] = im->rows[i].entry;
	rc = suppression_redis_put(im->redis, entries, (size_t)im->count, err);
	free(entries);
	return rc;
}

static int
import_flush(struct suppression_import *im, struct buf *err)
{
	struct suppression_cache *cache = suppression_cache_of(im->store);
	int rc;

	if (im->count == 0 || im->failed)
		return im->failed ? -1 : 0;
	if ((rc = im->redis != NULL ? import_write_redis(im, err) : import_write(im, err)) < 0)
		im->failed = true;
	else
		im->done += im->count;
	im->count = 0;
	if (cache != NULL)
		suppression_cache_forget(cache);
	return rc;
}

int
suppression_import_put(struct suppression_import *im, const struct suppression_entry *entry,
                       struct buf *err)
{
	struct import_row *row = &im->rows[im->count];

	if (im->failed) {
		buf_printf(err, "suppression: import stopped after a store error");
		return -1;
	}
	if (keys(entry->address, entry->scope, row->entry.address, row->entry.scope, err) < 0)
		return -1;
	row->entry.reason = entry->reason;
	row->entry.time = entry->time;
	snprintf(row->entry.message_id, sizeof(row->entry.message_id), "%s", entry->message_id);
	row->seq = im->done + im->count;
	if (++im->count == (im->redis != NULL ? SUPPRESSION_REDIS_BATCH : SUPPRESSION_IMPORT_BATCH))
		return import_flush(im, err);
	return 0;
}

int
suppression_import_end(struct suppression_import *im, long *imported, struct buf *err)
{
	char pragma[64];
	int rc = import_flush(im, err);

	*imported = im->done;
	if (im->redis != NULL) {
		free(im->rows);
		free(im);
		return rc;
	}
	snprintf(pragma, sizeof(pragma), "PRAGMA cache_size = %lld", im->cache_size);
	if (im->cache_size != 0)
		sqlite3_exec(store_db(im->store), pragma, NULL, NULL, NULL);
	store_unlock(im->store);
	free(im->rows);
	free(im);
	return rc;
}
