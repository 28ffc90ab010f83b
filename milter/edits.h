/*
 * edits - changes to a message, queued until its verdict is known
 *
 * Capability code (signing, control headers, the aligned MAIL FROM) says
 * what it would change; edits_apply() hands the changes to the MTA in one
 * burst, after the Send event is durable and just before the verdict.
 * Nothing reaches the MTA for a message that is then deferred, and the
 * MTA receives the changes and the verdict back to back: libmilter writes
 * each as its own small packet, and packets spread over time wait on TCP's
 * delayed acknowledgements (40 ms a message, measured).
 */
#ifndef MW_EDITS_H
#define MW_EDITS_H

#include <stdbool.h>

#include <libmilter/mfapi.h>

#include "common/buf.h"

struct msg;

enum edit_kind {
	EDIT_ADD_HEADER,    /* at the end of the header */
	EDIT_INSERT_HEADER, /* on top; queued first ends up topmost */
	EDIT_DELETE_HEADER, /* the index-th (1-based) field of that name */
	EDIT_SET_SENDER,    /* the envelope sender */
	EDIT_DELETE_RCPT,   /* an envelope recipient */
	EDIT_ADD_RCPT,      /* an envelope recipient, with ESMTP parameters in value */
};

struct edit {
	enum edit_kind kind;
	char *name;  /* header name, or the new sender */
	char *value; /* header value with its leading space; NULL for others */
	int index;
};

void edit_add_header(struct msg *msg, const char *name, const char *value);
void edit_insert_header(struct msg *msg, const char *name, const char *value);
void edit_delete_header(struct msg *msg, const char *name, int index);
void edit_set_sender(struct msg *msg, const char *sender);
void edit_delete_rcpt(struct msg *msg, const char *rcpt);
/* Applied in the order queued, with deletions: delete first to re-add an address. */
void edit_add_rcpt(struct msg *msg, const char *rcpt, const char *esmtp_args);

/* 0, or -1 with what the MTA refused in err. */
int edits_apply(SMFICTX *ctx, const struct msg *msg, bool leadspc, struct buf *err);
void edits_free(struct msg *msg);

#endif
