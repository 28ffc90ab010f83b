/*
 * store - the embedded SQLite state database; see store.h.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdlib.h>

#include "common/store.h"
#include "common/xalloc.h"

struct store {
	sqlite3 *db;
};

static const char schema_v1[] =
    "CREATE TABLE IF NOT EXISTS meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ");"
    "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1');";

static int
store_exec(struct store *store, const char *sql, const char *path, struct buf *err)
{
	char *msg = NULL;

	if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	buf_printf(err, "%s: %s", path, msg ? msg : sqlite3_errmsg(store->db));
	sqlite3_free(msg);
	return -1;
}

struct store *
store_open(const char *path, struct buf *err)
{
	struct store *store = xcalloc(1, sizeof(*store));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;

	if (sqlite3_open_v2(path, &store->db, flags, NULL) != SQLITE_OK) {
		buf_printf(err, "%s: %s", path,
		           store->db ? sqlite3_errmsg(store->db) : "cannot open");
		store_close(store);
		return NULL;
	}
	sqlite3_busy_timeout(store->db, 5000);
	if (store_exec(store, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", path, err) <
	        0 ||
	    store_exec(store, schema_v1, path, err) < 0) {
		store_close(store);
		return NULL;
	}
	if (store_schema_version(store) > STORE_SCHEMA_VERSION) {
		buf_printf(err, "%s: schema version %d is newer than this mailward knows (%d)",
		           path, store_schema_version(store), STORE_SCHEMA_VERSION);
		store_close(store);
		return NULL;
	}
	return store;
}

void
store_close(struct store *store)
{
	if (store == NULL)
		return;
	sqlite3_close(store->db);
	free(store);
}

int
store_schema_version(struct store *store)
{
	sqlite3_stmt *stmt;
	int version = -1;

	if (sqlite3_prepare_v2(store->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
	                       &stmt, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		version = atoi((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	return version;
}
