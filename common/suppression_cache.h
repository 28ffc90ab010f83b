/*
 * suppression_cache - RCPT-time suppression lookups from memory
 *
 * Most recipients are not on the suppression list, and the list may hold
 * millions of addresses.  The cache keeps a Bloom filter of every
 * (address, stream) key in the store: a key it does not hold is certainly
 * not listed, answered in memory in O(1); a key it holds (listed, or a
 * rare false positive) is read from the table, so the entry's reason and
 * time come from the store and a removed address is never refused (a
 * removal needs no cache work at all).
 *
 * Additions must never be missed.  This process adds through
 * suppression_add() (the one-click endpoint, bounces, complaints), which
 * puts the key into the filter at once.  Other processes (the CLI's add
 * and import, an administrator's sqlite3) are noticed through SQLite's
 * PRAGMA data_version, which every lookup reads (no disk access: it
 * changes when another connection has committed to the file): when it is
 * not the one the filter was built for, the lookup reads the table, and a
 * thread of the cache reads the whole list again on a connection of its
 * own (about a second per million entries) and swaps the new filter in.
 * So a change is seen by the first lookup that starts after its commit.
 * Within this process, write the list only through suppression.h, whose
 * functions keep the cache current.  Other processes' writes to other
 * tables also cost a rebuild (a CLI command now and then: cheap; lookups
 * stay correct meanwhile, only slower).
 *
 * Thread-safe: lookups run with the store's lock held (suppression.c) and
 * take the cache's own lock around its state; the rebuild thread takes the
 * store's lock only to read data_version, never while it holds the
 * cache's, and the cache's to swap the filter in.
 */
#ifndef MW_SUPPRESSION_CACHE_H
#define MW_SUPPRESSION_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/store.h"

/*
 * Keep a cache in front of store's suppression lookups (suppression_get)
 * until store_close().  Reads the list once before it returns (a second or
 * so per million entries).  0, or -1 with the reason in err.
 */
int suppression_cache_start(struct store *store, struct buf *err);

struct suppression_cache_stats {
	bool running;              /* a cache is attached to the store */
	bool current;              /* no other connection has written since the filter was read */
	unsigned long entries;     /* keys in the filter */
	unsigned long lookups;     /* probes since start */
	unsigned long from_memory; /* ... answered "not listed" without the table */
	unsigned long rebuilds;    /* whole-list reads after the first */
	double last_build_ms;
};

void suppression_cache_stats(struct store *store, struct suppression_cache_stats *out);

/* For suppression.c, with the store's lock held. */
struct suppression_cache *suppression_cache_of(struct store *store);
/* 0: certainly not listed; 1: maybe (read the table). */
int suppression_cache_maybe(struct suppression_cache *cache, struct store *store,
                            const char *address, const char *scope);
/* This process added (address, scope) (keys lower-cased) and committed it. */
void suppression_cache_added(struct suppression_cache *cache, const char *address,
                             const char *scope);
/* This process wrote many keys at once (an import): read the list again. */
void suppression_cache_forget(struct suppression_cache *cache);

#endif
