/*
 * suppression - the suppression list; see suppression.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/store_impl.h"
#include "common/suppression.h"

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

/* One statement with the lock held; its step result. */
static int
run(struct store *store, const char *sql, const char *a, const char *s,
    const struct suppression_entry *entry, struct suppression_entry *out, struct buf *err)
{
	sqlite3_stmt *stmt;
	int rc;

	store_lock(store);
	if ((stmt = store_statement(store, sql, err)) == NULL) {
		store_unlock(store);
		return SQLITE_ERROR;
	}
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
	store_unlock(store);
	return rc;
}

int
suppression_add(struct store *store, const struct suppression_entry *entry, struct buf *err)
{
	char a[SUPPRESSION_ADDRESS_MAX + 1], s[SUPPRESSION_SCOPE_MAX + 1];

	if (keys(entry->address, entry->scope, a, s, err) < 0)
		return -1;
	return run(store, sql_put, a, s, entry, NULL, err) == SQLITE_DONE ? 0 : -1;
}

int
suppression_get(struct store *store, const char *address, const char *scope,
                struct suppression_entry *out, struct buf *err)
{
	char a[SUPPRESSION_ADDRESS_MAX + 1], s[SUPPRESSION_SCOPE_MAX + 1];
	int rc;

	if (keys(address, scope, a, s, err) < 0)
		return 0; /* cannot be on the list */
	rc = run(store, sql_get, a, s, NULL, out, err);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
suppression_remove(struct store *store, const char *address, const char *scope, struct buf *err)
{
	char a[SUPPRESSION_ADDRESS_MAX + 1], s[SUPPRESSION_SCOPE_MAX + 1];
	int rc;

	if (keys(address, scope, a, s, err) < 0)
		return 0;
	rc = run(store, sql_del, a, s, NULL, NULL, err);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static const char sql_list[] = "SELECT address, scope, reason, time, message_id FROM suppression "
                               "WHERE (address, scope) > (?1, ?2) AND (?3 IS NULL OR reason = ?3) "
                               "AND (?4 IS NULL OR scope = ?4) ORDER BY address, scope LIMIT ?5";

long
suppression_list(struct store *store, const struct suppression_filter *filter, suppression_fn each,
                 void *arg, struct buf *err)
{
	sqlite3_stmt *stmt;
	long n = 0;
	int rc;

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
