/*
 * suppression - the suppression list in the store
 *
 * An address lands here when it bounced permanently, complained, or
 * unsubscribed (or an administrator put it there), either for the whole
 * account (scope "") or for one sending stream.  Addresses compare
 * case-insensitively (stored lower-cased).  Adding an address that is
 * there already updates its reason, time and message ID (upsert), and so
 * does importing it.
 *
 * With a cache started on the store (suppression_cache.h, the milter),
 * suppression_get() answers most "not listed" from memory, and
 * suppression_add() keeps the cache current.
 */
#ifndef MW_SUPPRESSION_H
#define MW_SUPPRESSION_H

#include <stdbool.h>
#include <time.h>

#include "common/buf.h"
#include "common/store.h"

enum suppression_reason {
	SUPPRESSION_BOUNCE,
	SUPPRESSION_COMPLAINT,
	SUPPRESSION_UNSUBSCRIBE,
	SUPPRESSION_MANUAL,
};

#define SUPPRESSION_ADDRESS_MAX 320
#define SUPPRESSION_SCOPE_MAX   64

struct suppression_entry {
	char address[SUPPRESSION_ADDRESS_MAX + 1];
	char scope[SUPPRESSION_SCOPE_MAX + 1];
	enum suppression_reason reason;
	time_t time;
	char message_id[64];
};

/* 0, or -1 with the reason in err (too long, store trouble). */
int suppression_add(struct store *store, const struct suppression_entry *entry, struct buf *err);
/* 1 found (into out), 0 not there, -1 store trouble. */
int suppression_get(struct store *store, const char *address, const char *scope,
                    struct suppression_entry *out, struct buf *err);
/* 1 removed, 0 not there, -1 store trouble. */
int suppression_remove(struct store *store, const char *address, const char *scope,
                       struct buf *err);
/* "BOUNCE", "COMPLAINT", "UNSUBSCRIBE", "MANUAL" (the SES words). */
const char *suppression_reason_name(enum suppression_reason reason);
/* The word back (any case); -1 when it is none of them. */
int suppression_reason_parse(const char *word, enum suppression_reason *out);

/* A page of the list, in (address, scope) order, after a position. */
struct suppression_filter {
	const char *after_address; /* the last entry of the previous page; NULL: from the start */
	const char *after_scope;
	bool reason_set;
	enum suppression_reason reason;
	const char *scope; /* only this scope; NULL: all */
	bool since_set, until_set;
	time_t since, until; /* since <= time < until */
	long limit;          /* < 0: no limit */
};

/* Return non-zero to stop. */
typedef int (*suppression_fn)(const struct suppression_entry *entry, void *arg);

/* Entries passed to each; how many, or -1 with the reason in err. */
long suppression_list(struct store *store, const struct suppression_filter *filter,
                      suppression_fn each, void *arg, struct buf *err);

/*
 * Bulk import: entries are upserted with one prepared statement, one
 * transaction per SUPPRESSION_IMPORT_BATCH entries (a crash keeps the
 * batches committed before it).  Random addresses touch nearly every page
 * of the table in each batch, and each commit writes those pages to the
 * WAL again, so fewer, larger batches are what makes an import fast: a
 * million addresses took 8.9 s in batches of 50,000, 5.9 s in batches of
 * 100,000 (128 MB at most), 4.8 s in batches of 200,000 (176 MB).  A
 * batch holds the write lock for about a second; the milter's writers
 * wait for it (busy timeout 5 s).  The store is this import's from begin
 * to end (its lock is held): meant for the CLI, not the milter.
 */
#define SUPPRESSION_IMPORT_BATCH 100000

struct suppression_import;

struct suppression_import *suppression_import_begin(struct store *store, struct buf *err);
/*
 * 0, or -1 with the reason in err: the batch in progress was rolled back
 * and nothing more goes in (the batches before it stay).
 */
int suppression_import_put(struct suppression_import *im, const struct suppression_entry *entry,
                           struct buf *err);
/*
 * Commit the last batch and free im: 0, or -1 with the reason in err;
 * either way the number of entries committed in *imported.
 */
int suppression_import_end(struct suppression_import *im, long *imported, struct buf *err);

#endif
