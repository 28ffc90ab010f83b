/*
 * store - the embedded state database (SQLite)
 *
 * One SQLite file holds the state later capabilities share: suppression
 * list, reputation counters, the index of recent Send events, DMARC
 * history.  store_open() creates or upgrades the schema and fails with a
 * clear reason (unwritable directory, locked or corrupt file) before the
 * milter starts serving.  WAL mode lets readers run while one writer
 * writes; a busy timeout rides out short lock waits.
 *
 * Schema versions: 1 the meta table; 2 adds the DMARC history
 * (dmarc_history.h); 3 the suppression list (suppression.h); 4 the index
 * of recent Send events by Message-ID (send_index.h); 5 reputation
 * counters and states (reputation_store.h).  Older files are upgraded in
 * place when opened; a file newer than this program is refused.  One open
 * store may be shared by every thread of the process.
 *
 * A fleet of MTA hosts shares its state through Redis instead: with
 * backend STORE_REDIS the suppression list, reputation and the Send-event
 * index live in Redis (redis_keys.h has the data model) and the SQLite file
 * keeps only what is local to the host (DMARC history: this host's own
 * aggregate-report data).  Each module's public functions (suppression.h,
 * reputation_store.h, send_index.h) are the one interface; each picks its
 * backend from the store (store_redis()), the SQLite code unchanged.
 */
#ifndef MW_STORE_H
#define MW_STORE_H

#include "common/buf.h"

#define STORE_SCHEMA_VERSION 5

struct store;

enum store_backend {
	STORE_SQLITE,
	STORE_REDIS,
};

struct store_options {
	enum store_backend backend;
	const char *redis;        /* "HOST:PORT", "[IPv6]:PORT" or "unix:/path" */
	const char *redis_prefix; /* of every key */
	int redis_timeout_ms;     /* connect and each reply */
};

/* The SQLite backend alone. */
struct store *store_open(const char *path, struct buf *err);
/*
 * As options say (NULL: SQLite).  Redis being down is no error here: the
 * calls that need it fail (and reconnect) until it is back.
 */
struct store *store_open_with(const char *path, const struct store_options *options,
                              struct buf *err);
void store_close(struct store *store);
/* The schema version recorded in the file, or -1 on error. */
int store_schema_version(struct store *store);

#endif
