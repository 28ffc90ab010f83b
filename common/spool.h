/*
 * spool - the durable event spool
 *
 * Every event mailward produces is one JSON document, one file, in a
 * maildir-like directory:
 *
 *	DIR/tmp/   being written; never read by consumers
 *	DIR/new/   complete, durable events not yet taken by a consumer
 *	DIR/cur/   events a consumer has taken (moved there by the consumer)
 *
 * An event becomes durable through a write-ahead journal (DIR/journal):
 * spool_begin() appends it to the journal; one thread runs fdatasync() on
 * the journal for every event appended since its last one (group commit:
 * one flush covers all writers waiting, however many); spool_commit()
 * waits for the flush that covers its event and returns: the event is
 * durable.  A publisher thread then writes it into new/ (moments later,
 * off the message path: creating a file costs more than the flush on some
 * filesystems), and every events.checkpoint_seconds a checkpoint flushes the filesystem once
 * (syncfs) and drops the journal that covered those files.  After a crash
 * or a failed publication, spool_open() republishes from the journal every
 * event missing from new/ and cur/ or damaged, so an event acknowledged as
 * durable is never lost; a crash can at worst publish an event twice (same
 * name, same bytes) or publish one whose message was then refused.
 *
 * Between spool_begin() and spool_commit() the caller may do other work
 * (receive and sign the message) while the flush runs; spool_abandon()
 * withdraws an event whose message was not accepted after all.  A consumer
 * never sees a half file and never sees an event before it is durable.
 *
 * With durability "none" there is no journal: spool_commit() puts the file
 * in new/ itself and nothing is flushed.
 *
 * Names sort by creation time: "SECONDS.MICROS.PPID_SEQ.json", SEQ zero-padded
 * to ten digits so that writes within one microsecond sort in order.
 */
#ifndef MW_SPOOL_H
#define MW_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

enum spool_durability {
	SPOOL_DURABILITY_FSYNC, /* durable before commit returns; journal flushes shared (default)
	                         */
	SPOOL_DURABILITY_NONE,  /* leave flushing to the kernel: lost on power loss */
};

#define SPOOL_NAME_MAX 64

struct spool;

/* Create the directory layout if needed; NULL with a reason in err. */
struct spool *spool_open(const char *dir, enum spool_durability durability, struct buf *err);
void spool_close(struct spool *spool);

struct spool_entry;

/* Write one event and start making it durable; NULL with errno set. */
struct spool_entry *spool_begin(struct spool *spool, const char *data, size_t len);
/*
 * Wait until the event is durable; 0 with its file name in name (the file
 * appears in new/ moments later), or -1 with errno set and the event
 * withdrawn.  Frees the entry either way.
 */
int spool_commit(struct spool *spool, struct spool_entry *entry, char name[SPOOL_NAME_MAX]);
/* Withdraw an event that must not be published; frees the entry. */
void spool_abandon(struct spool *spool, struct spool_entry *entry);

/* Wait until every committed event has its file in new/ (tests, tools). */
void spool_wait_published(struct spool *spool);

/* spool_begin(), spool_commit() and spool_wait_published() in one call. */
int spool_write(struct spool *spool, const char *data, size_t len, char name[SPOOL_NAME_MAX]);

/* Run a checkpoint now (tests; a thread does it every interval). */
void spool_checkpoint(struct spool *spool);
/* Seconds between checkpoints (default 30); takes effect after the current wait. */
void spool_set_checkpoint_interval(struct spool *spool, unsigned seconds);

const char *spool_dir(const struct spool *spool);

#endif
