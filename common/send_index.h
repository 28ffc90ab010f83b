/*
 * send_index - recent Send events by Message-ID, for feedback without a token
 *
 * A bounce from a server that rewrote the envelope, or a complaint (ARF
 * reports go to the complaint address, not the VERP one), often carries no
 * bounce-address token, but it does carry the original's Message-ID (the
 * returned headers of a DSN, the attached message of an ARF report).  The
 * index maps that Message-ID to what the Send event said: mailward's mail
 * ID, source, destination, tags, stream and time, so the feedback event's
 * mail object is whole again.
 *
 * Keys are the Message-ID without its angle brackets and surrounding
 * space (send_index_key()); a Message-ID sent twice keeps its latest
 * message.  Rows are pruned by age (send_index_prune()).  The store's lock
 * makes every call safe from any thread; send_index_add_many() writes a
 * whole batch in one transaction (milter/send_log.h batches on the mail
 * path's behalf).
 *
 * On a store whose backend is Redis (store.h) each record is a hash,
 * P send:MESSAGE-ID (redis_keys.h), that Redis forgets by itself at the
 * record's expires time (send_index_prune() has nothing to do), so every
 * instance of a fleet finds what any of them sent.
 */
#ifndef MW_SEND_INDEX_H
#define MW_SEND_INDEX_H

#include <stddef.h>
#include <time.h>

#include "common/buf.h"
#include "common/store.h"

#define SEND_INDEX_KEY_MAX 998 /* a header line, at most (RFC 5322) */

struct send_record {
	char *message_id; /* the key */
	char *mail_id;    /* mailward's ID: mail.messageId */
	char *timestamp;  /* ISO 8601, as in the Send event */
	char *source;
	char *stream; /* NULL: none */
	char *tags;   /* the Send event's mail.tags as a JSON object, or NULL */
	char **destination;
	size_t destination_count;
	time_t time;
	time_t expires; /* Redis: the key's EXPIREAT (0 none); SQLite prunes by time instead */
};

/* The key of a Message-ID header value (malloc'd), or NULL when it has none. */
char *send_index_key(const char *value);

/* Store count records in one transaction; 0, or -1 with the reason in err. */
int send_index_add_many(struct store *store, const struct send_record *records, size_t count,
                        struct buf *err);

/* 1 found (fills *out: send_record_free() it), 0 not found, -1 error (err). */
int send_index_find(struct store *store, const char *message_id, struct send_record *out,
                    struct buf *err);

/* Forget records older than before; how many went, or -1 (err). */
long send_index_prune(struct store *store, time_t before, struct buf *err);

void send_record_free(struct send_record *record);

#endif
