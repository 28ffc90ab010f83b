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
 * spool_begin() writes the event to tmp/ and appends it to the journal;
 * one thread runs fdatasync() on the journal for every event appended
 * since its last one (group commit: one flush covers all writers waiting,
 * however many); spool_commit() waits for the flush that covers its event
 * and renames the file into new/.  The files themselves are not flushed one
 * by one: every second a checkpoint flushes the filesystem once (syncfs)
 * and drops the journal that covered them.  After a crash, spool_open()
 * republishes from the journal every event that is missing from new/ and
 * cur/ or came out damaged, so an event acknowledged as durable is never
 * lost; a crash can at worst publish an event twice (same name, same
 * bytes) or publish one whose message was then refused.
 *
 * Between spool_begin() and spool_commit() the caller may do other work
 * (sign the message) while the flush runs; spool_abandon() withdraws an
 * event whose message was not accepted after all.  A consumer never sees
 * a half file and never sees an event before it is durable.
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
 * Wait until the event is durable and publish it in new/; 0 with its file
 * name in name, or -1 with errno set and nothing left in new/ or tmp/.
 * Frees the entry either way.
 */
int spool_commit(struct spool *spool, struct spool_entry *entry, char name[SPOOL_NAME_MAX]);
/* Withdraw an event that must not be published; frees the entry. */
void spool_abandon(struct spool *spool, struct spool_entry *entry);

/* spool_begin() and spool_commit() in one call. */
int spool_write(struct spool *spool, const char *data, size_t len, char name[SPOOL_NAME_MAX]);

/* Run a checkpoint now (tests; a thread does it every second). */
void spool_checkpoint(struct spool *spool);

const char *spool_dir(const struct spool *spool);

#endif
