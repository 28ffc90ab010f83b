/*
 * spool_journal - the spool's write-ahead journal files (internal to spool.c)
 *
 * A journal file is a sequence of records, written under the spool's lock
 * at the end of the previous one:
 *
 *	"E NAME LEN NUMBER SUM\n" LEN bytes of event "\n"   an event, about to be published
 *	"V NAME NUMBER SUM\n"                                that event was withdrawn
 *
 * NUMBER is the journal file's own number and SUM (16 hex digits) a
 * checksum of the header before it and the event.  Files live in
 * DIR/journal, named by a 16-digit number that only grows.  They are
 * written in place rather than appended to: a file is filled with zeros in
 * advance and reused under a new number once its events are published
 * (journal_rename), so a flush writes the records alone, not the file's
 * size and block map too (on ext4 0.14 ms instead of 0.47 with the
 * publisher creating files beside it).  Reading stops at the first record
 * that is incomplete, fails its checksum or names another number: the
 * torn tail of a write nobody was told succeeded, zeros, or what the file
 * held in its previous use.
 */
#ifndef MW_SPOOL_JOURNAL_H
#define MW_SPOOL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"

/* write() until all of data is written (EINTR retried); -1 with errno. */
int journal_write_all(int fd, const char *data, size_t len);

/*
 * Write an event record of journal number at offset end; *new_end is past
 * it.  -1 with errno: nothing counts as written (the next record goes to
 * end again).
 */
int journal_append_event(int fd, uint64_t number, off_t end, const char *name, const char *data,
                         size_t len, off_t *new_end);
/* Write a withdrawal record; as above. */
int journal_append_void(int fd, uint64_t number, off_t end, const char *name, off_t *new_end);

/* Create DIR/journal/NUMBER, empty, and make its name durable; fd or -1. */
int journal_create(int journal_dir_fd, uint64_t number);
/* Fill [from, to) of the file with zeros and flush it; 0 or -1 with errno. */
int journal_extend(int fd, off_t from, off_t to);
/* Rename journal from to number to (reuse) and make it durable; 0 or -1. */
int journal_rename(int journal_dir_fd, uint64_t from, uint64_t to);
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
