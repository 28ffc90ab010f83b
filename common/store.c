/*
 * store - the embedded SQLite state database; see store.h and store_impl.h.
 *
 * The schema grows by numbered steps: a new file is made at version 1 and
 * walked up through every step, so the path an existing file takes is the
 * one every new file takes too (and the tests exercise it).  Each step runs
 * in one IMMEDIATE transaction that re-reads the version first, so a milter
 * and "mailward report" opening an old file at once upgrade it once.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/redis_store.h"
#include "common/store.h"
#include "common/store_impl.h"
#include "common/xalloc.h"

struct cached_statement {
	const char *sql;
	sqlite3_stmt *stmt;
};

struct attachment {
	const void *key;
	void *object;
	void (*release)(void *object);
};

struct store {
	sqlite3 *db;
	char *path;
	pthread_mutex_t lock;
	struct cached_statement *statements;
	size_t statement_count;
	struct attachment *attachments;
	size_t attachment_count;
	struct redis_store *redis; /* NULL: SQLite holds everything */
};

static const char schema_v1[] =
    "CREATE TABLE IF NOT EXISTS meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ");"
    "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1');";

/*
 * Version 2: DMARC history, one row per evaluated message and one per DKIM
 * result of it.  Enumerations are stored as the words reports use, so the
 * file reads well in the sqlite3 shell and survives reordered C enums.
 * dkim_digest names the set of DKIM results, so aggregate-report grouping
 * is one GROUP BY.
 */
static const char upgrade_to_v2[] =
    "CREATE TABLE dmarc_history ("
    "  id INTEGER PRIMARY KEY,"
    "  time INTEGER NOT NULL,"
    "  source_ip TEXT NOT NULL,"
    "  header_from TEXT NOT NULL,"
    "  envelope_from TEXT NOT NULL,"
    "  envelope_to TEXT NOT NULL,"
    "  policy_domain TEXT NOT NULL,"
    "  adkim TEXT NOT NULL, aspf TEXT NOT NULL,"
    "  p TEXT NOT NULL, sp TEXT NOT NULL, np TEXT NOT NULL,"
    "  pct INTEGER NOT NULL, fo TEXT NOT NULL, testing INTEGER NOT NULL,"
    "  rua TEXT NOT NULL,"
    "  disposition TEXT NOT NULL,"
    "  dkim_aligned INTEGER NOT NULL, spf_aligned INTEGER NOT NULL,"
    "  reason TEXT NOT NULL, reason_comment TEXT NOT NULL,"
    "  spf_domain TEXT NOT NULL, spf_scope TEXT NOT NULL, spf_result TEXT NOT NULL,"
    "  dkim_digest TEXT NOT NULL"
    ");"
    "CREATE INDEX dmarc_history_time ON dmarc_history(time);"
    "CREATE TABLE dmarc_history_dkim ("
    "  row_id INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  domain TEXT NOT NULL,"
    "  selector TEXT NOT NULL,"
    "  result TEXT NOT NULL,"
    "  human_result TEXT NOT NULL,"
    "  PRIMARY KEY (row_id, seq)"
    ") WITHOUT ROWID;";

/*
 * Version 3: the suppression list.  scope "" is the account-level list,
 * otherwise a sending stream's own (configuration-set-level suppression).
 * Addresses are stored lower-cased, so one lookup is one primary-key probe.
 */
static const char upgrade_to_v3[] = "CREATE TABLE suppression ("
                                    "  address TEXT NOT NULL,"
                                    "  scope TEXT NOT NULL,"
                                    "  reason TEXT NOT NULL,"
                                    "  time INTEGER NOT NULL,"
                                    "  message_id TEXT NOT NULL,"
                                    "  PRIMARY KEY (address, scope)"
                                    ") WITHOUT ROWID;"
                                    "CREATE INDEX suppression_time ON suppression(time);";

/*
 * Version 4: the index of recent Send events by Message-ID (send_index.h),
 * pruned by time.
 */
static const char upgrade_to_v4[] = "CREATE TABLE send_index ("
                                    "  message_id TEXT PRIMARY KEY,"
                                    "  mail_id TEXT NOT NULL,"
                                    "  time INTEGER NOT NULL,"
                                    "  timestamp TEXT NOT NULL,"
                                    "  source TEXT NOT NULL,"
                                    "  destination TEXT NOT NULL,"
                                    "  stream TEXT NOT NULL,"
                                    "  tags TEXT NOT NULL"
                                    ") WITHOUT ROWID;"
                                    "CREATE INDEX send_index_time ON send_index(time);";

/*
 * Version 5: reputation (reputation_store.h).  kind is "stream" or
 * "domain"; hour is unix time / 3600; state is ok, warning or paused;
 * reputation_outbox is the outbox of events the daemon has yet to write.
 */
static const char upgrade_to_v5[] =
    "CREATE TABLE reputation_counts ("
    "  kind TEXT NOT NULL, name TEXT NOT NULL, hour INTEGER NOT NULL,"
    "  sends INTEGER NOT NULL, bounces INTEGER NOT NULL, complaints INTEGER NOT NULL,"
    "  PRIMARY KEY (kind, name, hour)"
    ") WITHOUT ROWID;"
    "CREATE INDEX reputation_counts_hour ON reputation_counts(hour);"
    "CREATE TABLE reputation_state ("
    "  kind TEXT NOT NULL, name TEXT NOT NULL,"
    "  state TEXT NOT NULL, since INTEGER NOT NULL, resume_at INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  base_hour INTEGER NOT NULL, base_sends INTEGER NOT NULL,"
    "  base_bounces INTEGER NOT NULL, base_complaints INTEGER NOT NULL,"
    "  PRIMARY KEY (kind, name)"
    ") WITHOUT ROWID;"
    "CREATE TABLE reputation_outbox ("
    "  id INTEGER PRIMARY KEY, type TEXT NOT NULL, body TEXT NOT NULL"
    ");";

/* upgrades[i] takes a file from version i + 1 to i + 2. */
static const char *const upgrades[] = { upgrade_to_v2, upgrade_to_v3, upgrade_to_v4,
	                                upgrade_to_v5 };

_Static_assert(sizeof(upgrades) / sizeof(upgrades[0]) == STORE_SCHEMA_VERSION - 1,
               "one upgrade step per schema version after the first");

static int
store_exec(struct store *store, const char *sql, struct buf *err)
{
	char *msg = NULL;

	if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	buf_printf(err, "%s: %s", store->path, msg ? msg : sqlite3_errmsg(store->db));
	sqlite3_free(msg);
	return -1;
}

/* One step up from version from, unless another process took it already. */
static int
store_upgrade_step(struct store *store, int from, struct buf *err)
{
	char bump[96];

	if (store_exec(store, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	if (store_schema_version(store) != from) {
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
		return 0;
	}
	snprintf(bump, sizeof(bump),
	         "UPDATE meta SET value = '%d' WHERE key = 'schema_version'; COMMIT;", from + 1);
	if (store_exec(store, upgrades[from - 1], err) < 0 || store_exec(store, bump, err) < 0) {
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int
store_upgrade(struct store *store, struct buf *err)
{
	int version;

	while ((version = store_schema_version(store)) < STORE_SCHEMA_VERSION) {
		if (version < 1) {
			buf_printf(err, "%s: no schema version recorded", store->path);
			return -1;
		}
		if (store_upgrade_step(store, version, err) < 0)
			return -1;
	}
	if (version > STORE_SCHEMA_VERSION) {
		buf_printf(err, "%s: schema version %d is newer than this mailward knows (%d)",
		           store->path, version, STORE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

struct store *
store_open(const char *path, struct buf *err)
{
	struct store *store = xcalloc(1, sizeof(*store));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;

	store->path = xstrdup(path);
	pthread_mutex_init(&store->lock, NULL);
	if (sqlite3_open_v2(path, &store->db, flags, NULL) != SQLITE_OK) {
		buf_printf(err, "%s: %s", path,
		           store->db ? sqlite3_errmsg(store->db) : "cannot open");
		store_close(store);
		return NULL;
	}
	sqlite3_busy_timeout(store->db, 5000);
	if (store_exec(store, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", err) < 0 ||
	    store_exec(store, schema_v1, err) < 0 || store_upgrade(store, err) < 0) {
		store_close(store);
		return NULL;
	}
	return store;
}

struct store *
store_open_with(const char *path, const struct store_options *options, struct buf *err)
{
	struct store *store = store_open(path, err);

	if (store == NULL || options == NULL || options->backend != STORE_REDIS)
		return store;
	store->redis =
	    redis_store_open(options->redis, options->redis_prefix, options->redis_timeout_ms, err);
	if (store->redis == NULL) {
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
	for (size_t i = store->attachment_count; i-- > 0;)
		store->attachments[i].release(store->attachments[i].object);
	free(store->attachments);
	for (size_t i = 0; i < store->statement_count; i++)
		sqlite3_finalize(store->statements[i].stmt);
	free(store->statements);
	sqlite3_close(store->db);
	redis_store_close(store->redis);
	pthread_mutex_destroy(&store->lock);
	free(store->path);
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

sqlite3 *
store_db(struct store *store)
{
	return store->db;
}

struct redis_store *
store_redis(struct store *store)
{
	return store->redis;
}

const char *
store_path(const struct store *store)
{
	return store->path;
}

void
store_lock(struct store *store)
{
	pthread_mutex_lock(&store->lock);
}

void
store_unlock(struct store *store)
{
	pthread_mutex_unlock(&store->lock);
}

sqlite3_stmt *
store_statement(struct store *store, const char *sql, struct buf *err)
{
	sqlite3_stmt *stmt;

	for (size_t i = 0; i < store->statement_count; i++)
		if (store->statements[i].sql == sql)
			return store->statements[i].stmt;
	if (sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) !=
	    SQLITE_OK) {
		if (err != NULL)
			buf_printf(err, "%s: %s", store->path, sqlite3_errmsg(store->db));
		return NULL;
	}
	store->statements =
	    xgrow(store->statements, store->statement_count, sizeof(*store->statements));
	store->statements[store->statement_count++] = (struct cached_statement){ sql, stmt };
	return stmt;
}

int
store_run(struct store *store, const char *sql, struct buf *err)
{
	sqlite3_stmt *stmt = store_statement(store, sql, err);
	int rc;

	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW && err != NULL)
		buf_printf(err, "%s: %s", store->path, sqlite3_errmsg(store->db));
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

void
store_attach(struct store *store, const void *key, void *object, void (*release)(void *object))
{
	store_lock(store);
	store->attachments =
	    xgrow(store->attachments, store->attachment_count, sizeof(*store->attachments));
	store->attachments[store->attachment_count++] = (struct attachment){ key, object, release };
	store_unlock(store);
}

void *
store_attachment(struct store *store, const void *key)
{
	for (size_t i = 0; i < store->attachment_count; i++)
		if (store->attachments[i].key == key)
			return store->attachments[i].object;
	return NULL;
}
