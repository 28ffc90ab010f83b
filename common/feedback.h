/*
 * feedback - bounces, delay notices and complaints read from a message
 *
 * feedback_parse() reads one whole message (headers and body, as it came
 * in) and says what kind of feedback it is:
 *
 *   FEEDBACK_BOUNCE      a delivery failure: an RFC 3464 DSN with Action
 *                        failed, or one of the common non-standard texts
 *                        (Exim, qmail, Yahoo, old Exchange, any bounce with
 *                        an SMTP reply next to an address); a message from a
 *                        mail system that names no failed recipient is an
 *                        Undetermined bounce for the X-Failed-Recipients or
 *                        the original's To (or nobody)
 *   FEEDBACK_DELAY       a DSN whose recipients are only "delayed"
 *   FEEDBACK_DELIVERY    a DSN whose recipients were "delivered"/"relayed"
 *   FEEDBACK_COMPLAINT   an ARF report (RFC 5965, RFC 6650)
 *   FEEDBACK_AUTOREPLY   an RFC 3834 auto-reply (vacation): not a bounce
 *   FEEDBACK_NOT_FEEDBACK anything else, including a person's message whose
 *                        subject merely sounds like a bounce
 *   FEEDBACK_ERROR       nothing readable as a message (err says why)
 *
 * A report part decides first (ARF, then DSN: DSNs carry "Auto-Submitted:
 * auto-replied" too); text is read only without one, and only for a
 * message that looks like a bounce (daemon sender, bounce subject, an
 * MTA's own words).  A DSN whose MIME is broken (no boundary) is still
 * read from the raw body.
 *
 * Every recipient is classified the SES way (feedback_classify()): a
 * bounce type (Permanent, Transient, Undetermined) and subtype from the
 * enhanced status code, the SMTP reply and the words of the diagnostic.
 * Like SES, a full mailbox, a message too large and rejected content are
 * Transient whatever the status class (the address exists); NoEmail is a
 * Permanent failure that says the address does not exist (x.1.1, x.1.10,
 * x.1.2, x.1.3, x.1.6, or words to that effect); Suppressed and
 * OnAccountSuppressionList are never read from a message, they belong to
 * the suppression list.
 *
 * The returned or attached original message (message/rfc822,
 * text/rfc822-headers, or the copy below an Exim/qmail marker line) gives
 * feedback.orig: its headers, Message-ID, From, To, Subject, Feedback-ID,
 * X-SES-CONFIGURATION-SET, X-Mailward-Stream, and the VERP tokens (the
 * TOKEN of any b-TOKEN@domain address in the message's and the original's
 * headers and in the report's fields, X-Postfix-Sender, Original-Mail-From).  Tokens are only
 * candidates: verp_decode() with the policy's keys decides.
 *
 * feedback_init() must run once per process before any parse (it
 * initialises GMime; calling it again is harmless).  After that
 * feedback_parse() is thread-safe: it shares nothing between calls.
 *
 * feedback_event_count() and feedback_event_json() turn a parse into SES
 * events: one Bounce event per distinct (bounceType, bounceSubType) among
 * the failed recipients (SES gives an event one type), one DeliveryDelay
 * for the delayed ones, one Delivery, or one Complaint; a bounce that
 * names nobody gives one Undetermined Bounce with no recipients.  The
 * event's mail object comes from the caller's correlation (struct
 * feedback_mail) or, field by field where that is missing, from the
 * original message (mail.messageId stays null: it is mailward's ID, only
 * the correlation knows it); mail.tags "mailward:correlation" says which
 * ("verp", "message-id", "none").  The detail's timestamp is the feedback
 * message's Date, else the current time; feedbackId is a hash of the
 * message, so a replayed bounce keeps its ID.  reportingMTA is the bare
 * host name; remoteMtaIp comes only from Remote-MTA, a host[address] in
 * the diagnostic or Exim's and qmail's host lines (never an address the
 * rejection quotes, which may be ours).  mail.headers stop at 10 KB
 * (headersTruncated) and an event never passes 256 KB: diagnostics and
 * header values are capped, then mail.headers dropped, then recipients.
 */
#ifndef MW_FEEDBACK_H
#define MW_FEEDBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/buf.h"

#define FEEDBACK_MAX_RCPTS      100
#define FEEDBACK_MAX_TOKENS     4
#define FEEDBACK_MAX_EVENT      (256 * 1024)
#define FEEDBACK_MAX_HEADERS    (10 * 1024)
#define FEEDBACK_MAX_DIAGNOSTIC 1024

enum feedback_kind {
	FEEDBACK_ERROR = -1,
	FEEDBACK_NOT_FEEDBACK = 0,
	FEEDBACK_BOUNCE,
	FEEDBACK_DELAY,
	FEEDBACK_DELIVERY,
	FEEDBACK_COMPLAINT,
	FEEDBACK_AUTOREPLY,
};

enum bounce_type {
	BOUNCE_UNDETERMINED,
	BOUNCE_PERMANENT,
	BOUNCE_TRANSIENT,
};

enum bounce_subtype {
	BOUNCE_SUB_UNDETERMINED,
	BOUNCE_SUB_GENERAL,
	BOUNCE_SUB_NO_EMAIL,
	BOUNCE_SUB_SUPPRESSED,
	BOUNCE_SUB_ON_ACCOUNT_SUPPRESSION_LIST,
	BOUNCE_SUB_MAILBOX_FULL,
	BOUNCE_SUB_MESSAGE_TOO_LARGE,
	BOUNCE_SUB_CONTENT_REJECTED,
	BOUNCE_SUB_ATTACHMENT_REJECTED,
};

struct feedback_rcpt {
	char *address;    /* the final recipient, lower-case domain */
	char *original;   /* Original-Recipient, or NULL */
	char *action;     /* failed, delayed, delivered, relayed, expanded */
	char *status;     /* enhanced status code "5.1.1", or NULL */
	char *diagnostic; /* "smtp; 550 5.1.1 ...", capped, or NULL */
	char *remote_mta; /* Remote-MTA value without its type, or NULL */
	enum bounce_type type;
	enum bounce_subtype subtype;
};

struct feedback_header {
	char *name;
	char *value;
};

/* What the returned or attached original message says. */
struct feedback_original {
	bool present;
	struct feedback_header *headers;
	size_t header_count;
	char *message_id; /* without the angle brackets */
	char *from, *to, *subject, *date, *return_path;
	char *feedback_id;                 /* Feedback-ID header */
	char *configuration_set;           /* X-SES-CONFIGURATION-SET */
	char *stream;                      /* X-Mailward-Stream */
	char *tokens[FEEDBACK_MAX_TOKENS]; /* VERP token candidates, lower case */
	size_t token_count;
};

struct feedback {
	enum feedback_kind kind;
	const char *format; /* "rfc3464", "arf", "exim", "qmail", "text", ... (static) */
	struct feedback_rcpt *rcpts;
	size_t rcpt_count;
	char *reporting_mta; /* without the "dns;" type */
	char *remote_mta_ip; /* from Remote-MTA or the diagnostic, if an address */
	char *arrival_date;  /* DSN Arrival-Date or ARF Arrival-Date, as written */
	char *expiration;    /* DSN Will-Retry-Until (delays) */
	char *timestamp;     /* the feedback message's Date in ISO 8601 UTC, or NULL */
	char *feedback_id;   /* stable ID: hex of a SHA-256 of the message */
	char *feedback_type; /* ARF: abuse, auth-failure, fraud, not-spam, other, virus */
	char *user_agent;    /* ARF User-Agent */
	char *source_ip;     /* ARF Source-IP */
	char *subject;       /* the feedback message's own Subject */
	struct feedback_original orig;
};

/* What the caller knows of the original message (any field may be NULL). */
struct feedback_mail {
	const char *timestamp;  /* ISO 8601 */
	const char *message_id; /* mailward's mail ID */
	const char *source;
	const char *source_ip;
	const char *const *destination;
	size_t destination_count;
	const char *stream;
	const char *correlation; /* "verp", "message-id"; NULL: "none" */
	const char *tags_json;   /* the Send event's mail.tags (a JSON object), or NULL */
};

enum feedback_shape {
	FEEDBACK_SHAPE_EVENT,        /* "eventType" */
	FEEDBACK_SHAPE_NOTIFICATION, /* "notificationType" */
};

/* Once per process, before any parse; thread-safe and idempotent. */
void feedback_init(void);

/*
 * Parse msg (len bytes) into *out (zeroed first; feedback_free() it
 * whatever the result).  Returns out->kind.  FEEDBACK_ERROR puts the
 * reason in err.
 */
enum feedback_kind feedback_parse(const char *msg, size_t len, struct feedback *out,
                                  struct buf *err);
void feedback_free(struct feedback *fb);

/* Bounce type and subtype of one recipient's status, diagnostic and action. */
void feedback_classify(const char *status, const char *diagnostic, const char *action,
                       enum bounce_type *type, enum bounce_subtype *subtype);

const char *feedback_kind_name(enum feedback_kind kind);
const char *bounce_type_name(enum bounce_type type);
const char *bounce_subtype_name(enum bounce_subtype subtype);

/* How many events the parse gives (0 for auto-replies and non-feedback). */
size_t feedback_event_count(const struct feedback *fb);
/*
 * Event number index as one line of JSON ending in a newline (*len
 * bytes); caller frees.  mail may be NULL.  NULL if index is out of range.
 */
char *feedback_event_json(const struct feedback *fb, const struct feedback_mail *mail,
                          enum feedback_shape shape, size_t index, size_t *len);

#endif
