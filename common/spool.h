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
 * spool_write() writes to tmp/, fsyncs the file, renames it into new/ and
 * makes the rename durable before it returns, so once it returns 0 the
 * event survives a crash or power loss, and a consumer never sees a half
 * file.  Directory fsyncs are shared (group commit): writers that rename
 * while another writer's fsync runs wait for the next one, and one fsync
 * releases them all.
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
	SPOOL_DURABILITY_FSYNC, /* durable before returning; directory fsyncs shared (default) */
	SPOOL_DURABILITY_NONE,  /* leave flushing to the kernel: lost on power loss */
};

#define SPOOL_NAME_MAX 64

struct spool;

/* Create the directory layout if needed; NULL with a reason in err. */
struct spool *spool_open(const char *dir, enum spool_durability durability, struct buf *err);
void spool_close(struct spool *spool);

/*
 * Write one event.  0 on success with the entry's file name in name; -1 on
 * failure with errno set and nothing left in new/ or tmp/.
 */
int spool_write(struct spool *spool, const char *data, size_t len, char name[SPOOL_NAME_MAX]);

const char *spool_dir(const struct spool *spool);

#endif
