/*
 * unsubscribe - List-Unsubscribe on bulk mail; see unsubscribe.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "common/unsub_token.h"
#include "milter/context.h"
#include "milter/control.h"
#include "milter/unsubscribe.h"

static bool
is_bulk(const struct msg *msg)
{
	const struct policy_stream *stream = control_stream(msg);

	if (stream != NULL && stream->bulk)
		return true;
	if (!msg->policy->unsubscribe_precedence_bulk)
		return false;
	for (size_t i = 0; i < msg->header_count; i++)
		if (strcasecmp(msg->headers[i].name, "Precedence") == 0) {
			const char *v =
			    msg->headers[i].value + strspn(msg->headers[i].value, " \t");
			if (strncasecmp(v, "bulk", 4) == 0 || strncasecmp(v, "list", 4) == 0)
				return true;
		}
	return false;
}

/* Remove the application's fields (replace mode): from the MTA and from what is signed. */
static void
drop_existing(struct msg *msg, const char *name)
{
	for (int n = msg_drop_headers(msg, name); n > 0; n--) /* last first */
		edit_delete_header(msg, name, n);
}

static void
add_field(struct msg *msg, const char *name, const char *value)
{
	edit_add_header(msg, name, value);
	msg_add_header(msg, name, value);
}

const char *
unsubscribe_add_headers(struct msg *msg)
{
	const struct policy *policy = msg->policy;
	const struct policy_stream *stream = control_stream(msg);
	struct unsub_token token = { .issued = time(NULL) };
	const char *topic = control_tag(msg, "topic");
	const char *url = stream != NULL && *stream->unsubscribe_url != '\0'
	                      ? stream->unsubscribe_url
	                      : policy->unsubscribe_url;
	int existing = stream != NULL && stream->unsubscribe_existing != UNSUBSCRIBE_DEFAULT
	                   ? stream->unsubscribe_existing
	                   : policy->unsubscribe_existing;
	struct buf text = BUF_INIT, value = BUF_INIT;

	if (!is_bulk(msg) || (*url == '\0' && *policy->unsubscribe_mailto == '\0'))
		return NULL;
	if (msg_has_header(msg, "List-Unsubscribe")) {
		if (existing == UNSUBSCRIBE_KEEP)
			return "kept";
		drop_existing(msg, "List-Unsubscribe");
		drop_existing(msg, "List-Unsubscribe-Post");
	}
	if (policy->verp_key_count == 0)
		return "none(no key in feedback.verp_keys)";
	if (msg->rcpt_count != 1)
		return "none(several recipients)";
	snprintf(token.stream, sizeof(token.stream), "%s", msg->stream ? msg->stream : "");
	snprintf(token.topic, sizeof(token.topic), "%s", topic ? topic : "");
	snprintf(token.rcpt, sizeof(token.rcpt), "%s", msg->rcpts[0]);
	token.key_id = policy->verp_key_table[0].id;
	if (strlen(msg->rcpts[0]) > UNSUB_RCPT_MAX ||
	    unsub_token_encode(&policy->verp_key_table[0], &token, &text) < 0)
		return "none(recipient too long for a token)";
	buf_puts(&value, " ");
	if (*url != '\0')
		buf_printf(&value, "<%s%s>", url, buf_str(&text));
	if (*policy->unsubscribe_mailto != '\0')
		buf_printf(&value, "%s<mailto:%s?subject=unsubscribe%%20%s>",
		           *url != '\0' ? ",\n\t" : "", policy->unsubscribe_mailto, buf_str(&text));
	add_field(msg, "List-Unsubscribe", buf_str(&value));
	/* RFC 8058: one-click needs an HTTPS URI to POST to. */
	if (strncmp(url, "https://", 8) == 0)
		add_field(msg, "List-Unsubscribe-Post", " List-Unsubscribe=One-Click");
	buf_free(&text);
	buf_free(&value);
	return "added";
}
