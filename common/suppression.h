/*
 * suppression - the suppression list in the store
 *
 * An address lands here when it bounced permanently, complained, or
 * unsubscribed (or an administrator put it there), either for the whole
 * account (scope "") or for one sending stream.  Addresses compare
 * case-insensitively (stored lower-cased).  Adding an address that is
 * there already updates its reason, time and message ID.
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
	long limit;
};

/* Return non-zero to stop. */
typedef int (*suppression_fn)(const struct suppression_entry *entry, void *arg);

/* Entries passed to each; how many, or -1 with the reason in err. */
long suppression_list(struct store *store, const struct suppression_filter *filter,
                      suppression_fn each, void *arg, struct buf *err);

#endif
