/*
 * context - per-connection and per-message state; see context.h.
 */
#include "config.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/netaddr.h"
#include "common/xalloc.h"
#include "milter/context.h"
#include "milter/inbound.h"

struct conn *
conn_new(void)
{
	return xcalloc(1, sizeof(struct conn));
}

void
conn_set_client(struct conn *conn, const char *client_name, const struct sockaddr *client,
                const char *daemon)
{
	/* MTAs pass "[192.0.2.1]" when the client has no name; log it Postfix's way. */
	if (client_name == NULL || *client_name == '[' || *client_name == '\0')
		client_name = "unknown";
	free(conn->client_name);
	conn->client_name = xstrdup(client_name);
	conn->client_known = false;
	conn->client_ip[0] = '\0';
	if (client != NULL && (client->sa_family == AF_INET || client->sa_family == AF_INET6)) {
		size_t len = client->sa_family == AF_INET ? sizeof(struct sockaddr_in)
		                                          : sizeof(struct sockaddr_in6);
		memcpy(&conn->client, client, len);
		conn->client_known =
		    sockaddr_ntop(client, conn->client_ip, sizeof(conn->client_ip));
	}
	free(conn->daemon_name);
	conn->daemon_name = daemon ? xstrdup(daemon) : NULL;
}

void
conn_free(struct conn *conn)
{
	if (conn == NULL)
		return;
	msg_end(conn);
	free(conn->client_name);
	free(conn->helo);
	free(conn->daemon_name);
	free(conn);
}

void
conn_set_helo(struct conn *conn, const char *helo)
{
	free(conn->helo);
	conn->helo = xstrdup(helo ? helo : "");
}

char *
address_strip_brackets(const char *addr)
{
	size_t len;

	if (addr == NULL)
		return xstrdup("");
	len = strlen(addr);
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>')
		return xstrndup(addr + 1, len - 2);
	return xstrdup(addr);
}

struct msg *
msg_begin(struct conn *conn, const char *sender)
{
	struct msg *msg;

	msg_end(conn);
	msg = xcalloc(1, sizeof(*msg));
	msg->policy = policy_acquire();
	clock_gettime(CLOCK_REALTIME, &msg->started);
	mail_id_new(&msg->id, &msg->started);
	msg->sender = address_strip_brackets(sender);
	conn->msg = msg;
	return msg;
}

void
msg_end(struct conn *conn)
{
	struct msg *msg = conn->msg;

	if (msg == NULL)
		return;
	policy_release(msg->policy);
	inbound_free(msg->inbound);
	if (msg->feedback_raw != NULL) {
		buf_free(msg->feedback_raw);
		free(msg->feedback_raw);
	}
	free(msg->sender);
	free(msg->auth_user);
	for (size_t i = 0; i < msg->rcpt_count; i++)
		free(msg->rcpts[i]);
	free(msg->rcpts);
	for (size_t i = 0; i < msg->header_count; i++) {
		free(msg->headers[i].name);
		free(msg->headers[i].value);
	}
	free(msg->headers);
	for (int i = 0; i < COMMON_HEADER_COUNT; i++)
		free(msg->common[i]);
	sign_free(msg->sign);
	edits_free(msg);
	free(msg->stream);
	for (size_t i = 0; i < msg->tag_count; i++) {
		free(msg->tags[i].name);
		free(msg->tags[i].value);
	}
	free(msg->tags);
	free(msg);
	conn->msg = NULL;
}

void
msg_set_qid(struct msg *msg, const char *qid)
{
	if (qid != NULL && *qid != '\0')
		snprintf(msg->qid, sizeof(msg->qid), "%s", qid);
}

void
msg_add_rcpt(struct msg *msg, const char *rcpt)
{
	msg->rcpts = xgrow(msg->rcpts, msg->rcpt_count, sizeof(char *));
	msg->rcpts[msg->rcpt_count++] = address_strip_brackets(rcpt);
}

static const struct common_field common_fields[COMMON_HEADER_COUNT] = {
	[COMMON_FROM] = { "From", "from", true },
	[COMMON_TO] = { "To", "to", true },
	[COMMON_CC] = { "Cc", "cc", true },
	[COMMON_REPLY_TO] = { "Reply-To", "replyTo", true },
	[COMMON_DATE] = { "Date", "date", false },
	[COMMON_SUBJECT] = { "Subject", "subject", false },
	[COMMON_MESSAGE_ID] = { "Message-ID", "messageId", false },
};

const struct common_field *
common_field(enum common_header which)
{
	return &common_fields[which];
}

static void
msg_note_common(struct msg *msg, const char *name, const char *value)
{
	for (int i = 0; i < COMMON_HEADER_COUNT; i++) {
		if (msg->common[i] == NULL && strcasecmp(name, common_fields[i].header) == 0) {
			msg->common[i] = xstrdup(value + strspn(value, " \t"));
			return;
		}
	}
}

void
msg_add_header(struct msg *msg, const char *name, const char *value)
{
	msg_note_common(msg, name, value);
	msg->headers = xgrow(msg->headers, msg->header_count, sizeof(struct header));
	msg->headers[msg->header_count].name = xstrdup(name);
	msg->headers[msg->header_count].value = xstrdup(value);
	msg->header_count++;
}

int
msg_drop_headers(struct msg *msg, const char *name)
{
	size_t kept = 0;
	int dropped = 0;

	for (size_t i = 0; i < msg->header_count; i++) {
		if (strcasecmp(msg->headers[i].name, name) == 0) {
			free(msg->headers[i].name);
			free(msg->headers[i].value);
			dropped++;
		} else {
			msg->headers[kept++] = msg->headers[i];
		}
	}
	msg->header_count = kept;
	return dropped;
}

bool
msg_has_header(const struct msg *msg, const char *name)
{
	for (size_t i = 0; i < msg->header_count; i++)
		if (strcasecmp(msg->headers[i].name, name) == 0)
			return true;
	return false;
}
