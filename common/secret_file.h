/*
 * secret_file - open a file that holds a secret, refusing one others can use
 *
 * Every secret mailward reads (a DKIM private key, a VERP/unsubscribe
 * secret, a webhook signing key) goes through secret_file_open: the file
 * must be a regular file with no permission bits for its group or for
 * others (mode 0600 or 0400).  A group-readable key is refused too: any
 * member of that group, or any process that joins it later, could sign
 * mail as the domain or forge bounce and unsubscribe tokens.  The owner
 * is the user mailward runs as (a reload on SIGHUP reads the keys as that
 * user), which "mailward keygen -u USER" arranges.
 *
 * The permission check is on the descriptor that is then read (fstat), so
 * the file cannot be swapped between the check and the read.
 */
#ifndef MW_SECRET_FILE_H
#define MW_SECRET_FILE_H

#include "common/buf.h"

/*
 * An open, read-only, close-on-exec descriptor for path; -1 with err
 * ("PATH: WHAT is readable by its group (mode 0640); chmod 600 PATH ...")
 * when it cannot be opened, is not a regular file or is open to others.
 * what names the secret in the message ("private key", "secret").
 */
int secret_file_open(const char *path, const char *what, struct buf *err);

#endif
