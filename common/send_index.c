/*
 * send_index - recent Send events by Message-ID; see send_index.h.
 *
 * The destination list is stored as one text of addresses separated by
 * newlines (an envelope address has none), so a record is one row.
 * A store on Redis hands each call to send_index_redis.c (store_redis()).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/send_index.h"
#include "common/send_index_redis.h"
#include "common/store_impl.h"
#include "common/xalloc.h"

static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char sql_insert[] =
    "INSERT OR REPLACE INTO send_index(message_id, mail_id, time, timestamp, source, "
    "destination, stream, tags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char sql_find[] = "SELECT mail_id, time, timestamp, source, destination, stream, "
                               "tags FROM send_index WHERE message_id = ?1";
static const char sql_prune[] = "DELETE FROM send_index WHERE time < ?1";

char *
send_index_key(const char *value)
{
	const char *start, *end;

	if (value == NULL)
		return NULL;
	start = value + strspn(value, " \t\r\n");
	end = start + strlen(start);
	while (end > start && strchr(" \t\r\n", end[-1]) != NULL)
		end--;
	if (end > start && *start == '<' && end[-1] == '>') {
		start++;
		end--;
	}
	if (end == start || (size_t)(end - start) > SEND_INDEX_KEY_MAX)
		return NULL;
	return xstrndup(start, (size_t)(end - start));
}

static const char *
nonnull(const char *s)
{
	return s != NULL ? s : "";
}

static int
insert_one(struct store *store, const struct send_record *r, struct buf *err)
{
	sqlite3_stmt *stmt = store_statement(store, sql_insert, err);
	struct buf dest = BUF_INIT;
	int rc;

	if (stmt == NULL)
		return -1;
	for (size_t i = 0; i < r->destination_count; i++)
		buf_printf(&dest, "%s%s", i ? "\n" : "", r->destination[i]);
	sqlite3_bind_text(stmt, 1, r->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, nonnull(r->mail_id), -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)r->time);
	sqlite3_bind_text(stmt, 4, nonnull(r->timestamp), -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, nonnull(r->source), -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, buf_str(&dest), -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 7, nonnull(r->stream), -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 8, nonnull(r->tags), -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		buf_printf(err, "%s: %s", store_path(store), sqlite3_errmsg(store_db(store)));
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	buf_free(&dest);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
send_index_add_many(struct store *store, const struct send_record *records, size_t count,
                    struct buf *err)
{
	int rc = 0;

	if (store_redis(store) != NULL)
		return send_index_redis_add_many(store_redis(store), records, count, err);
	store_lock(store);
	if (store_run(store, sql_begin, err) < 0) {
		rc = -1;
	} else {
		for (size_t i = 0; i < count && rc == 0; i++)
			if (records[i].message_id != NULL &&
			    insert_one(store, &records[i], err) < 0)
				rc = -1;
		if (rc == 0 && store_run(store, sql_commit, err) < 0)
			rc = -1;
		if (rc < 0)
			store_run(store, sql_rollback, NULL);
	}
	store_unlock(store);
	return rc;
}

static char *
column_or_null(sqlite3_stmt *stmt, int col)
{
	const char *text = (const char *)sqlite3_column_text(stmt, col);

	return text != NULL && *text != '\0' ? xstrdup(text) : NULL;
}

static void
split_destination(const char *text, struct send_record *out)
{
	const char *p = text;

	while (p != NULL && *p != '\0') {
		size_t len = strcspn(p, "\n");
		out->destination =
		    xgrow(out->destination, out->destination_count, sizeof(*out->destination));
		out->destination[out->destination_count++] = xstrndup(p, len);
		p += len + (p[len] == '\n');
	}
}

static void
record_read(sqlite3_stmt *stmt, const char *message_id, struct send_record *out)
{
	out->message_id = xstrdup(message_id);
	out->mail_id = column_or_null(stmt, 0);
	out->time = (time_t)sqlite3_column_int64(stmt, 1);
	out->timestamp = column_or_null(stmt, 2);
	out->source = column_or_null(stmt, 3);
	split_destination((const char *)sqlite3_column_text(stmt, 4), out);
	out->stream = column_or_null(stmt, 5);
	out->tags = column_or_null(stmt, 6);
}

int
send_index_find(struct store *store, const char *message_id, struct send_record *out,
                struct buf *err)
{
	sqlite3_stmt *stmt;
	int rc, found = -1;

	if (store_redis(store) != NULL)
		return send_index_redis_find(store_redis(store), message_id, out, err);
	memset(out, 0, sizeof(*out));
	store_lock(store);
	stmt = store_statement(store, sql_find, err);
	if (stmt != NULL) {
		sqlite3_bind_text(stmt, 1, message_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW)
			record_read(stmt, message_id, out);
		else if (rc != SQLITE_DONE)
			buf_printf(err, "%s: %s", store_path(store),
			           sqlite3_errmsg(store_db(store)));
		found = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
	}
	store_unlock(store);
	return found;
}

long
send_index_prune(struct store *store, time_t before, struct buf *err)
{
	sqlite3_stmt *stmt;
	long gone = -1;

	if (store_redis(store) != NULL)
		return 0; /* each key has its EXPIREAT */
	store_lock(store);
	stmt = store_statement(store, sql_prune, err);
	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, (sqlite3_int64)before);
		if (sqlite3_step(stmt) == SQLITE_DONE)
			gone = sqlite3_changes(store_db(store));
		else
			buf_printf(err, "%s: %s", store_path(store),
			           sqlite3_errmsg(store_db(store)));
		sqlite3_reset(stmt);
	}
	store_unlock(store);
	return gone;
}

void
send_record_free(struct send_record *r)
{
	if (r == NULL)
		return;
	free(r->message_id);
	free(r->mail_id);
	free(r->timestamp);
	free(r->source);
	free(r->stream);
	free(r->tags);
	for (size_t i = 0; i < r->destination_count; i++)
		free(r->destination[i]);
	free(r->destination);
	memset(r, 0, sizeof(*r));
}
