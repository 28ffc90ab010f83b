/*
 * reputation_store - reputation rows in the store; see reputation_store.h.
 *
 * The SQLite backend is here; a store on Redis hands each call to
 * reputation_redis.c (store_redis()).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/reputation_redis.h"
#include "common/reputation_store.h"
#include "common/store_impl.h"

static const char *const kind_names[] = {
	[REPUTATION_STREAM] = "stream",
	[REPUTATION_DOMAIN] = "domain",
};

static const char sql_add[] =
    "INSERT INTO reputation_counts(kind, name, hour, sends, bounces, complaints) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(kind, name, hour) DO UPDATE SET "
    "sends = sends + ?4, bounces = bounces + ?5, complaints = complaints + ?6";
static const char sql_window[] =
    "SELECT total(sends), total(bounces), total(complaints) FROM reputation_counts "
    "WHERE kind = ?1 AND name = ?2 AND hour >= ?3";
static const char sql_bucket[] = "SELECT sends, bounces, complaints FROM reputation_counts "
                                 "WHERE kind = ?1 AND name = ?2 AND hour = ?3";
static const char sql_get[] =
    "SELECT state, since, resume_at, reason, base_hour, base_sends, base_bounces, "
    "base_complaints, kind, name FROM reputation_state WHERE kind = ?1 AND name = ?2";
static const char sql_states[] =
    "SELECT state, since, resume_at, reason, base_hour, base_sends, base_bounces, "
    "base_complaints, kind, name FROM reputation_state "
    "WHERE ?1 = 0 OR state = 'paused' ORDER BY kind DESC, name";
static const char sql_put[] =
    "INSERT OR REPLACE INTO reputation_state(kind, name, state, since, resume_at, reason, "
    "base_hour, base_sends, base_bounces, base_complaints) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char sql_note[] = "INSERT INTO reputation_outbox(type, body) VALUES (?1, ?2)";
static const char sql_notes[] = "SELECT id, type, body FROM reputation_outbox ORDER BY id";
static const char sql_note_done[] = "DELETE FROM reputation_outbox WHERE id = ?1";
static const char sql_names[] = "SELECT DISTINCT kind, name FROM reputation_counts "
                                "WHERE hour >= ?1 ORDER BY kind DESC, name";
static const char sql_prune[] = "DELETE FROM reputation_counts WHERE hour < ?1";
static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";

const char *
reputation_kind_name(enum reputation_kind kind)
{
	return kind == REPUTATION_DOMAIN ? kind_names[REPUTATION_DOMAIN]
	                                 : kind_names[REPUTATION_STREAM];
}

bool
reputation_kind_parse(const char *word, enum reputation_kind *out)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (strcmp(word, kind_names[i]) == 0) {
			*out = (enum reputation_kind)i;
			return true;
		}
	}
	return false;
}

int64_t
reputation_hour(time_t t)
{
	return (int64_t)t / 3600;
}

static int
failed(struct store *store, struct buf *err)
{
	if (err != NULL)
		buf_printf(err, "%s: %s", store_path(store), sqlite3_errmsg(store_db(store)));
	return -1;
}

static void
finish(sqlite3_stmt *stmt)
{
	sqlite3_clear_bindings(stmt);
	sqlite3_reset(stmt);
}

/* A prepared statement with kind and name bound as ?1 and ?2; lock held. */
static sqlite3_stmt *
keyed(struct store *store, const char *sql, enum reputation_kind kind, const char *name,
      struct buf *err)
{
	sqlite3_stmt *stmt = store_statement(store, sql, err);

	if (stmt != NULL) {
		sqlite3_bind_text(stmt, 1, reputation_kind_name(kind), -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, name, -1, SQLITE_TRANSIENT);
	}
	return stmt;
}

static void
counts_of(sqlite3_stmt *stmt, int first, struct reputation_counts *out)
{
	out->sends = sqlite3_column_int64(stmt, first);
	out->bounces = sqlite3_column_int64(stmt, first + 1);
	out->complaints = sqlite3_column_int64(stmt, first + 2);
}

static int
add_one(struct store *store, const struct reputation_increment *row, struct buf *err)
{
	sqlite3_stmt *stmt = keyed(store, sql_add, row->kind, row->name, err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 3, row->hour);
	sqlite3_bind_int64(stmt, 4, row->counts.sends);
	sqlite3_bind_int64(stmt, 5, row->counts.bounces);
	sqlite3_bind_int64(stmt, 6, row->counts.complaints);
	rc = sqlite3_step(stmt);
	finish(stmt);
	return rc == SQLITE_DONE ? 0 : failed(store, err);
}

int
reputation_store_add(struct store *store, const struct reputation_increment *rows, size_t count,
                     struct buf *err)
{
	int rc = 0;
	if (store_redis(store) != NULL)
		return reputation_redis_add(store_redis(store), rows, count, err);

	store_lock(store);
	if (store_run(store, sql_begin, err) < 0) {
		store_unlock(store);
		return -1;
	}
	for (size_t i = 0; i < count && rc == 0; i++)
		rc = add_one(store, &rows[i], err);
	if (rc == 0)
		rc = store_run(store, sql_commit, err);
	if (rc < 0)
		store_run(store, sql_rollback, NULL);
	store_unlock(store);
	return rc;
}

/* The counts of one bucket (zeros when it has none); lock held. */
static int
bucket(struct store *store, enum reputation_kind kind, const char *name, int64_t hour,
       struct reputation_counts *out, struct buf *err)
{
	sqlite3_stmt *stmt = keyed(store, sql_bucket, kind, name, err);
	int rc;

	memset(out, 0, sizeof(*out));
	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 3, hour);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		counts_of(stmt, 0, out);
	finish(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : failed(store, err);
}

int
reputation_store_window(struct store *store, enum reputation_kind kind, const char *name,
                        time_t now, long hours, const struct reputation_record *rec,
                        struct reputation_counts *out, struct buf *err)
{
	int64_t first = reputation_hour(now) - hours + 1;
	bool rebased = rec != NULL && rec->base_hour >= first;
	sqlite3_stmt *stmt;
	int rc;
	if (store_redis(store) != NULL)
		return reputation_redis_window(store_redis(store), kind, name, now, hours, rec, out,
		                               err);

	memset(out, 0, sizeof(*out));
	if (rebased)
		first = rec->base_hour;
	store_lock(store);
	if ((stmt = keyed(store, sql_window, kind, name, err)) == NULL) {
		store_unlock(store);
		return -1;
	}
	sqlite3_bind_int64(stmt, 3, first);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		out->sends = (int64_t)sqlite3_column_double(stmt, 0);
		out->bounces = (int64_t)sqlite3_column_double(stmt, 1);
		out->complaints = (int64_t)sqlite3_column_double(stmt, 2);
	}
	finish(stmt);
	store_unlock(store);
	if (rc != SQLITE_ROW)
		return failed(store, err);
	if (rebased) {
		out->sends -= rec->base.sends;
		out->bounces -= rec->base.bounces;
		out->complaints -= rec->base.complaints;
	}
	return 0;
}

static void
record_of(sqlite3_stmt *stmt, struct reputation_record *out)
{
	const char *state = (const char *)sqlite3_column_text(stmt, 0);

	memset(out, 0, sizeof(*out));
	if (state == NULL || !reputation_state_parse(state, &out->state))
		out->state = REPUTATION_STATE_OK;
	out->since = (time_t)sqlite3_column_int64(stmt, 1);
	out->resume_at = (time_t)sqlite3_column_int64(stmt, 2);
	snprintf(out->reason, sizeof(out->reason), "%s", sqlite3_column_text(stmt, 3));
	out->base_hour = sqlite3_column_int64(stmt, 4);
	counts_of(stmt, 5, &out->base);
	if (!reputation_kind_parse((const char *)sqlite3_column_text(stmt, 8), &out->kind))
		out->kind = REPUTATION_STREAM;
	snprintf(out->name, sizeof(out->name), "%s", sqlite3_column_text(stmt, 9));
}

/* Lock held. */
static int
get_locked(struct store *store, enum reputation_kind kind, const char *name,
           struct reputation_record *out, struct buf *err)
{
	sqlite3_stmt *stmt = keyed(store, sql_get, kind, name, err);
	int rc;

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	snprintf(out->name, sizeof(out->name), "%s", name);
	if (stmt == NULL)
		return -1;
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		record_of(stmt, out);
	finish(stmt);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : failed(store, err);
}

int
reputation_store_get(struct store *store, enum reputation_kind kind, const char *name,
                     struct reputation_record *out, struct buf *err)
{
	int rc;
	if (store_redis(store) != NULL)
		return reputation_redis_get(store_redis(store), kind, name, out, err);

	store_lock(store);
	rc = get_locked(store, kind, name, out, err);
	store_unlock(store);
	return rc;
}

static int
put_locked(struct store *store, const struct reputation_record *rec, struct buf *err)
{
	sqlite3_stmt *stmt = keyed(store, sql_put, rec->kind, rec->name, err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 3, reputation_state_name(rec->state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, (sqlite3_int64)rec->since);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)rec->resume_at);
	sqlite3_bind_text(stmt, 6, rec->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 7, rec->base_hour);
	sqlite3_bind_int64(stmt, 8, rec->base.sends);
	sqlite3_bind_int64(stmt, 9, rec->base.bounces);
	sqlite3_bind_int64(stmt, 10, rec->base.complaints);
	rc = sqlite3_step(stmt);
	finish(stmt);
	return rc == SQLITE_DONE ? 0 : failed(store, err);
}

static int
note_locked(struct store *store, const char *type, const char *body, struct buf *err)
{
	sqlite3_stmt *stmt = store_statement(store, sql_note, err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, body, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	finish(stmt);
	return rc == SQLITE_DONE ? 0 : failed(store, err);
}

/* The change itself, inside the transaction; 1, 0 or -1 as reputation_store_change(). */
static int
change_locked(struct store *store, struct reputation_record *rec, enum reputation_state expect,
              bool rebase, const char *type, const char *body, struct buf *err)
{
	struct reputation_record now;
	int rc = get_locked(store, rec->kind, rec->name, &now, err);

	if (rc < 0)
		return -1;
	if (now.state != expect)
		return 0;
	if (rebase) {
		rec->base_hour = reputation_hour(rec->since);
		if (bucket(store, rec->kind, rec->name, rec->base_hour, &rec->base, err) < 0)
			return -1;
	}
	if (put_locked(store, rec, err) < 0)
		return -1;
	if (type != NULL && note_locked(store, type, body, err) < 0)
		return -1;
	return 1;
}

int
reputation_store_change(struct store *store, struct reputation_record *rec,
                        enum reputation_state expect, bool rebase, const char *type,
                        const char *body, struct buf *err)
{
	int rc;
	if (store_redis(store) != NULL)
		return reputation_redis_change(store_redis(store), rec, expect, rebase, type, body,
		                               err);

	store_lock(store);
	if (store_run(store, sql_begin, err) < 0) {
		store_unlock(store);
		return -1;
	}
	rc = change_locked(store, rec, expect, rebase, type, body, err);
	if (rc >= 0 && store_run(store, sql_commit, err) < 0)
		rc = -1;
	if (rc < 0)
		store_run(store, sql_rollback, NULL);
	store_unlock(store);
	return rc;
}

int
reputation_store_states(struct store *store, bool paused_only, reputation_record_fn fn, void *arg,
                        struct buf *err)
{
	sqlite3_stmt *stmt;
	int rc;
	if (store_redis(store) != NULL)
		return reputation_redis_states(store_redis(store), paused_only, fn, arg, err);

	store_lock(store);
	if ((stmt = store_statement(store, sql_states, err)) == NULL) {
		store_unlock(store);
		return -1;
	}
	sqlite3_bind_int(stmt, 1, paused_only ? 1 : 0);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct reputation_record rec;
		record_of(stmt, &rec);
		fn(&rec, arg);
	}
	finish(stmt);
	store_unlock(store);
	return rc == SQLITE_DONE ? 0 : failed(store, err);
}

int
reputation_store_names(struct store *store, int64_t first_hour, reputation_name_fn fn, void *arg,
                       struct buf *err)
{
	sqlite3_stmt *stmt;
	enum reputation_kind kind;
	int rc;
	if (store_redis(store) != NULL)
		return reputation_redis_names(store_redis(store), first_hour, fn, arg, err);

	store_lock(store);
	if ((stmt = store_statement(store, sql_names, err)) == NULL) {
		store_unlock(store);
		return -1;
	}
	sqlite3_bind_int64(stmt, 1, first_hour);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if (reputation_kind_parse((const char *)sqlite3_column_text(stmt, 0), &kind))
			fn(kind, (const char *)sqlite3_column_text(stmt, 1), arg);
	finish(stmt);
	store_unlock(store);
	return rc == SQLITE_DONE ? 0 : failed(store, err);
}

/* Delete one announcement; lock held. */
static void
note_done(struct store *store, int64_t id)
{
	sqlite3_stmt *stmt = store_statement(store, sql_note_done, NULL);

	if (stmt == NULL)
		return;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_step(stmt);
	finish(stmt);
}

int
reputation_store_notes(struct store *store, reputation_note_fn fn, void *arg, struct buf *err)
{
	sqlite3_stmt *stmt;
	int64_t done[64];
	size_t ndone = 0;
	int rc;
	if (store_redis(store) != NULL)
		return reputation_redis_notes(store_redis(store), fn, arg, err);

	/* A few at a time: the statement must be finished before the deletes. */
	store_lock(store);
	if ((stmt = store_statement(store, sql_notes, err)) == NULL) {
		store_unlock(store);
		return -1;
	}
	while (ndone < sizeof(done) / sizeof(done[0]) && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct reputation_note note = {
			.id = sqlite3_column_int64(stmt, 0),
			.type = (const char *)sqlite3_column_text(stmt, 1),
			.body = (const char *)sqlite3_column_text(stmt, 2),
		};
		if (!fn(&note, arg))
			break;
		done[ndone++] = note.id;
	}
	finish(stmt);
	for (size_t i = 0; i < ndone; i++)
		note_done(store, done[i]);
	store_unlock(store);
	(void)err;
	return 0;
}

int
reputation_store_prune(struct store *store, int64_t first_hour, struct buf *err)
{
	sqlite3_stmt *stmt;
	int rc;
	if (store_redis(store) != NULL)
		return 0; /* every bucket has its EXPIRE */

	store_lock(store);
	if ((stmt = store_statement(store, sql_prune, err)) == NULL) {
		store_unlock(store);
		return -1;
	}
	sqlite3_bind_int64(stmt, 1, first_hour);
	rc = sqlite3_step(stmt);
	finish(stmt);
	store_unlock(store);
	return rc == SQLITE_DONE ? 0 : failed(store, err);
}
