/*
 * edits - queued changes to a message; see edits.h.
 */
#include "config.h"

#include <stdlib.h>

#include "common/xalloc.h"
#include "milter/context.h"
#include "milter/edits.h"

static void
edit_push(struct msg *msg, enum edit_kind kind, const char *name, const char *value, int index)
{
	msg->edits = xgrow(msg->edits, msg->edit_count, sizeof(struct edit));
	msg->edits[msg->edit_count++] = (struct edit){
		.kind = kind,
		.name = xstrdup(name),
		.value = value ? xstrdup(value) : NULL,
		.index = index,
	};
}

void
edit_add_header(struct msg *msg, const char *name, const char *value)
{
	edit_push(msg, EDIT_ADD_HEADER, name, value, 0);
}

void
edit_insert_header(struct msg *msg, const char *name, const char *value)
{
	edit_push(msg, EDIT_INSERT_HEADER, name, value, 0);
}

void
edit_delete_header(struct msg *msg, const char *name, int index)
{
	edit_push(msg, EDIT_DELETE_HEADER, name, NULL, index);
}

void
edit_set_sender(struct msg *msg, const char *sender)
{
	edit_push(msg, EDIT_SET_SENDER, sender, NULL, 0);
}

void
edit_delete_rcpt(struct msg *msg, const char *rcpt)
{
	edit_push(msg, EDIT_DELETE_RCPT, rcpt, NULL, 0);
}

void
edit_add_rcpt(struct msg *msg, const char *rcpt, const char *esmtp_args)
{
	edit_push(msg, EDIT_ADD_RCPT, rcpt, esmtp_args, 0);
}

/* Header values go with their leading space only if the MTA agreed. */
static char *
milter_value(const char *value, bool leadspc)
{
	return (char *)(leadspc || *value != ' ' ? value : value + 1);
}

static int
edit_apply(SMFICTX *ctx, const struct edit *e, bool leadspc)
{
	switch (e->kind) {
	case EDIT_ADD_HEADER:
		return smfi_addheader(ctx, e->name, milter_value(e->value, leadspc));
	case EDIT_INSERT_HEADER:
		return smfi_insheader(ctx, 0, e->name, milter_value(e->value, leadspc));
	case EDIT_DELETE_HEADER:
		return smfi_chgheader(ctx, e->name, e->index, NULL);
	case EDIT_SET_SENDER: {
		char *arg = xasprintf("<%s>", e->name);
		int r = smfi_chgfrom(ctx, arg, NULL);
		free(arg);
		return r;
	}
	case EDIT_DELETE_RCPT: {
		char *arg = xasprintf("<%s>", e->name);
		int r = smfi_delrcpt(ctx, arg);
		free(arg);
		return r;
	}
	case EDIT_ADD_RCPT: {
		char *arg = xasprintf("<%s>", e->name);
		int r = smfi_addrcpt_par(ctx, arg, e->value);
		free(arg);
		return r;
	}
	}
	return MI_FAILURE;
}

static int
by_index_descending(const void *a, const void *b)
{
	const struct edit *x = *(const struct edit *const *)a, *y = *(const struct edit *const *)b;

	return (y->index > x->index) - (y->index < x->index);
}

static void
apply_one(SMFICTX *ctx, const struct edit *e, bool leadspc, struct buf *err, int *result)
{
	static const char *const what[] = { "add header",    "insert header",    "delete header",
		                            "change sender", "delete recipient", "add recipient" };

	if (edit_apply(ctx, e, leadspc) != MI_SUCCESS) {
		buf_printf(err, "MTA refused to %s %s; ", what[e->kind], e->name);
		*result = -1;
	}
}

int
edits_apply(SMFICTX *ctx, const struct msg *msg, bool leadspc, struct buf *err)
{
	const struct edit **deletes = xcalloc(msg->edit_count + 1, sizeof(*deletes));
	size_t n_deletes = 0;
	int result = 0;

	/*
	 * Deletions first, highest index first: the indexes name fields as the
	 * message arrived, and stay right whether or not the MTA renumbers
	 * after a deletion or counts fields inserted by us.
	 */
	for (size_t i = 0; i < msg->edit_count; i++)
		if (msg->edits[i].kind == EDIT_DELETE_HEADER)
			deletes[n_deletes++] = &msg->edits[i];
	qsort(deletes, n_deletes, sizeof(*deletes), by_index_descending);
	for (size_t i = 0; i < n_deletes; i++)
		apply_one(ctx, deletes[i], leadspc, err, &result);
	free(deletes);
	/* Inserts go on top one after another: the last applied ends up first. */
	for (size_t i = msg->edit_count; i-- > 0;)
		if (msg->edits[i].kind == EDIT_INSERT_HEADER)
			apply_one(ctx, &msg->edits[i], leadspc, err, &result);
	for (size_t i = 0; i < msg->edit_count; i++)
		if (msg->edits[i].kind == EDIT_ADD_HEADER ||
		    msg->edits[i].kind == EDIT_SET_SENDER ||
		    msg->edits[i].kind == EDIT_DELETE_RCPT || msg->edits[i].kind == EDIT_ADD_RCPT)
			apply_one(ctx, &msg->edits[i], leadspc, err, &result);
	return result;
}

void
edits_free(struct msg *msg)
{
	for (size_t i = 0; i < msg->edit_count; i++) {
		free(msg->edits[i].name);
		free(msg->edits[i].value);
	}
	free(msg->edits);
	msg->edits = NULL;
	msg->edit_count = 0;
}
