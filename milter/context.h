/*
 * context - the per-connection and per-message state
 *
 * A struct conn lives from the MTA's connect to close and owns at most one
 * struct msg, which lives from MAIL FROM to end-of-message or abort.  Both
 * are passed explicitly; libmilter's private pointer holds the conn.
 *
 * A message pins the policy snapshot that was current at its MAIL FROM and
 * keeps it to the end, so a reload never changes the rules half-way
 * through a message.
 */
#ifndef MW_CONTEXT_H
#define MW_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include "common/header.h"
#include "common/verp.h"
#include "milter/direction.h"
#include "milter/edits.h"
#include "milter/sign.h"
#include "policy/policy.h"

#define QUEUE_ID_MAX 64

struct inbound;     /* milter/inbound.h */
struct spool_entry; /* common/spool.h */

/* Headers every event reports (SES commonHeaders), kept even past truncation. */
enum common_header {
	COMMON_FROM,
	COMMON_TO,
	COMMON_CC,
	COMMON_REPLY_TO,
	COMMON_DATE,
	COMMON_SUBJECT,
	COMMON_MESSAGE_ID,
	COMMON_HEADER_COUNT,
};

struct msg {
	struct policy *policy;  /* pinned at MAIL FROM */
	char qid[QUEUE_ID_MAX]; /* "" until the MTA tells us */
	struct mail_id id;      /* mailward's own ID: mail.messageId of its events */
	struct timespec started;
	char *sender;    /* envelope sender, without <> ("" for the null sender) */
	char *auth_user; /* {auth_authen}, or NULL */
	char **rcpts;
	size_t rcpt_count;
	struct header *headers; /* every field, value as after the colon (leading space kept) */
	size_t header_count;
	char *common[COMMON_HEADER_COUNT]; /* first occurrence of each, trimmed, or NULL */
	struct sign_state *sign;           /* DKIM signing in progress, or NULL */
	struct inbound *inbound;           /* inbound checks in progress, or NULL */
	struct spool_entry *send_event;    /* Send event on its way to disk, or NULL */
	const char *unsubscribe;           /* what unsubscribe_add_headers() did (static text) */
	size_t feedback_rcpts;             /* recipients that are feedback addresses */
	size_t unsub_rcpts;                /* recipients that are the unsubscribe address */
	struct buf *feedback_raw;          /* a feedback message as it arrives, or NULL */
	bool feedback_truncated;
	bool report_copy;      /* a report to another address: kept in feedback_raw too */
	char *stream;          /* sending stream chosen so far (milter/stream_select.h), or NULL */
	const char *stream_by; /* how: "header", "auth_user", "sender", "from_domain" (static) */
	bool account_list_skipped; /* RCPT left out the account's suppression list */
	struct header *tags;       /* message tags from control headers */
	size_t tag_count;
	struct edit *edits; /* changes to apply with the verdict (edits.c) */
	size_t edit_count;
	int control_seen[4]; /* control headers seen, per name (control.c) */
	enum direction direction;
	char direction_reason[160];
	/*
	 * The end-of-header verdict when the MTA waits for no answer there
	 * (SMFIP_NR_EOH): given at the end of the message instead, which is
	 * when an SMTP client hears the answer to DATA anyway.
	 */
	bool verdict_held;
	sfsistat held_verdict;
};

struct conn {
	bool leadspc;           /* the MTA passes header values with their leading space */
	bool can_skip;          /* the MTA understands SMFIS_SKIP (stop sending the body) */
	unsigned long no_reply; /* SMFIP_NR_* steps: the MTA waits for no answer */
	struct sockaddr_storage client;
	bool client_known;
	char client_ip[64]; /* printable, "" when unknown */
	char *client_name;
	char *helo;
	char *daemon_name;
	struct msg *msg;
};

struct conn *conn_new(void);
void conn_set_client(struct conn *conn, const char *client_name, const struct sockaddr *client,
                     const char *daemon);
void conn_free(struct conn *conn);
void conn_set_helo(struct conn *conn, const char *helo);

/* Start a message: pins the current policy (NULL if none is installed). */
struct msg *msg_begin(struct conn *conn, const char *sender);
void msg_end(struct conn *conn);

void msg_set_qid(struct msg *msg, const char *qid);
void msg_add_rcpt(struct msg *msg, const char *rcpt);
/* value exactly as after the colon; events trim and truncate, signing needs it all. */
void msg_add_header(struct msg *msg, const char *name, const char *value);
/* Each common header: its name, its SES commonHeaders key, whether it lists addresses. */
struct common_field {
	const char *header;
	const char *key;
	bool addresses;
};
const struct common_field *common_field(enum common_header which);
bool msg_has_header(const struct msg *msg, const char *name);
/* Forget every field of that name (they are being removed); how many there were. */
int msg_drop_headers(struct msg *msg, const char *name);

/* Strip one pair of angle brackets, as MTAs pass envelope addresses. */
char *address_strip_brackets(const char *addr);

#endif
