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
 */
#ifndef MW_STORE_H
#define MW_STORE_H

#include "common/buf.h"

#define STORE_SCHEMA_VERSION 5

struct store;

struct store *store_open(const char *path, struct buf *err);
void store_close(struct store *store);
/* The schema version recorded in the file, or -1 on error. */
int store_schema_version(struct store *store);

#endif
