/*
 * control - control headers; see control.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/header.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "milter/context.h"
#include "milter/control.h"

enum control_kind {
	CONTROL_STREAM,
	CONTROL_TAGS,
};

static const struct {
	const char *name;
	enum control_kind kind;
} control_names[] = {
	{ "X-SES-CONFIGURATION-SET", CONTROL_STREAM },
	{ "X-Mailward-Stream", CONTROL_STREAM },
	{ "X-SES-MESSAGE-TAGS", CONTROL_TAGS },
	{ "X-Mailward-Tags", CONTROL_TAGS },
};

#define CONTROL_NAMES (sizeof(control_names) / sizeof(control_names[0]))

/* Tag names and values as SES allows them: letters, digits, _ - . @ */
static bool
tag_text_ok(const char *s, size_t len)
{
	if (len == 0 || len > 256)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_-.@", s[i]))
			return false;
	return true;
}

static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)**s))
		(*s)++, (*len)--;
	while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/* "name=value, name=value"; malformed pairs are logged and skipped. */
static void
parse_tags(struct msg *msg, const char *value)
{
	const char *p = value;

	while (*p) {
		size_t len = strcspn(p, ",");
		const char *pair = p, *eq = memchr(pair, '=', len);
		p += len + (p[len] == ',');
		const char *name = pair, *val = eq ? eq + 1 : NULL;
		size_t nlen = eq ? (size_t)(eq - pair) : len, vlen = eq ? len - nlen - 1 : 0;
		trim(&name, &nlen);
		if (val != NULL)
			trim(&val, &vlen);
		if (nlen == 0 && vlen == 0 && eq == NULL)
			continue;
		if (val == NULL || !tag_text_ok(name, nlen) || !tag_text_ok(val, vlen)) {
			log_warning(msg->qid, "message tag \"%.*s\" ignored: expected name=value",
			            (int)len, pair);
			continue;
		}
		msg->tags = xgrow(msg->tags, msg->tag_count, sizeof(struct header));
		msg->tags[msg->tag_count].name = xstrndup(name, nlen);
		msg->tags[msg->tag_count].value = xstrndup(val, vlen);
		msg->tag_count++;
	}
}

bool
control_header(struct msg *msg, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < CONTROL_NAMES; i++)
		if (strcasecmp(name, control_names[i].name) == 0)
			break;
	if (i == CONTROL_NAMES)
		return false;
	msg->control_seen[i]++;
	value += strspn(value, " \t");
	if (control_names[i].kind == CONTROL_TAGS) {
		parse_tags(msg, value);
	} else if (msg->stream_by == NULL || strcmp(msg->stream_by, "header") != 0) {
		/* the first control header wins over everything the envelope chose */
		size_t len = strlen(value);
		trim(&value, &len);
		free(msg->stream);
		msg->stream = xstrndup(value, len);
		msg->stream_by = "header";
	}
	return true;
}

const char *
control_unknown_stream(const struct msg *msg)
{
	return msg->stream != NULL && control_stream(msg) == NULL ? msg->stream : NULL;
}

void
control_remove(struct msg *msg)
{
	for (size_t i = 0; i < CONTROL_NAMES; i++)
		for (int n = msg->control_seen[i]; n > 0; n--) /* last first: indexes stay valid */
			edit_delete_header(msg, control_names[i].name, n);
}

const struct policy_stream *
control_stream(const struct msg *msg)
{
	if (msg->stream == NULL)
		return NULL;
	for (size_t i = 0; i < msg->policy->stream_count; i++)
		if (strcmp(msg->policy->streams[i].name, msg->stream) == 0)
			return &msg->policy->streams[i];
	return NULL;
}

const char *
control_tag(const struct msg *msg, const char *name)
{
	for (size_t i = 0; i < msg->tag_count; i++)
		if (strcmp(msg->tags[i].name, name) == 0)
			return msg->tags[i].value;
	return NULL;
}

void
control_add_feedback_id(struct msg *msg)
{
	char value[600];
	const char *campaign = control_tag(msg, "campaign");
	char *domain;

	if (msg->stream == NULL || msg_has_header(msg, "Feedback-ID"))
		return;
	domain = first_address_domain(msg->common[COMMON_FROM]);
	snprintf(value, sizeof(value), " %s:%s:%s:mailward", campaign ? campaign : "0", msg->stream,
	         domain ? domain : "unknown");
	free(domain);
	edit_add_header(msg, "Feedback-ID", value);
	msg_add_header(msg, "Feedback-ID", value);
}
