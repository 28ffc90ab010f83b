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
	}
	return MI_FAILURE;
}

int
edits_apply(SMFICTX *ctx, const struct msg *msg, bool leadspc, struct buf *err)
{
	static const char *const what[] = { "add header", "insert header", "delete header",
		                            "change sender" };
	int result = 0;

	/* Inserts go on top one after another: the last applied ends up first. */
	for (size_t i = msg->edit_count; i-- > 0;)
		if (msg->edits[i].kind == EDIT_INSERT_HEADER &&
		    edit_apply(ctx, &msg->edits[i], leadspc) != MI_SUCCESS) {
			buf_printf(err, "MTA refused to %s %s; ", what[msg->edits[i].kind],
			           msg->edits[i].name);
			result = -1;
		}
	for (size_t i = 0; i < msg->edit_count; i++)
		if (msg->edits[i].kind != EDIT_INSERT_HEADER &&
		    edit_apply(ctx, &msg->edits[i], leadspc) != MI_SUCCESS) {
			buf_printf(err, "MTA refused to %s %s; ", what[msg->edits[i].kind],
			           msg->edits[i].name);
			result = -1;
		}
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
