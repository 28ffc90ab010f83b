/*
 * spool_journal - the spool's write-ahead journal files (internal to spool.c)
 *
 * A journal file is a sequence of records, appended under the spool's lock:
 *
 *	"E NAME LEN\n" LEN bytes of event "\n"    an event, about to be published
 *	"V NAME\n"                                 that event was withdrawn
 *
 * Files live in DIR/journal and are named by a 16-digit number that only
 * grows.  Reading stops at the first record that is incomplete or does not
 * parse: that is the torn tail of a write nobody was told succeeded.
 */
#ifndef MW_SPOOL_JOURNAL_H
#define MW_SPOOL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"

/* write() until all of data is written (EINTR retried); -1 with errno. */
int journal_write_all(int fd, const char *data, size_t len);

/* Append an event record at offset end; -1 with errno (the file is cut back to end). */
int journal_append_event(int fd, off_t end, const char *name, const char *data, size_t len,
                         off_t *new_end);
/* Append a withdrawal record; -1 with errno (cut back as above). */
int journal_append_void(int fd, off_t end, const char *name, off_t *new_end);

/* Create DIR/journal/NUMBER, empty, and make its name durable; fd or -1. */
int journal_create(int journal_dir_fd, uint64_t number);
void journal_file_name(uint64_t number, char *out, size_t outlen);

/*
 * Publish into new/ every event that the journals in journal_dir_fd hold and
 * that is neither withdrawn nor already in new/ or cur/ with the same bytes,
 * then remove the journals.  Returns the highest journal number seen (0
 * when none) or -1 with the reason in err.  recovered counts events written.
 */
int64_t journal_recover(int journal_dir_fd, int tmp_fd, int new_fd, int cur_fd,
                        unsigned long *recovered, struct buf *err);

/*
 * The same for the events of one journal file, the others left in place
 * (their withdrawal records still count): a checkpoint's retry of a
 * journal whose events could not be published.  0, or -1 with err.
 */
int journal_republish(int journal_dir_fd, uint64_t number, int tmp_fd, int new_fd, int cur_fd,
                      unsigned long *published, struct buf *err);

#endif
