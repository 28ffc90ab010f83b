/*
 * webhook - SNS HTTP notifications of spool events
 *
 * An event of the spool reaches a webhook endpoint the way Amazon SNS
 * delivers a message to an HTTP(S) subscription: a POST whose body is
 *
 *   { "Type": "Notification", "MessageId", "TopicArn", "Subject",
 *     "Message": "<the event JSON as a string>", "Timestamp",
 *     "SignatureVersion": "2", "Signature", "SigningCertURL",
 *     "UnsubscribeURL" }
 *
 * so consumers written against SES-through-SNS work unchanged.
 *
 * Everything in the body derives from the event file alone, so a retry
 * (even after a restart, even to another endpoint) sends the same bytes:
 * MessageId is a name-based UUID (version 5) of the event's file name,
 * Timestamp the creation time written in that name, Subject the event's
 * type.  Delivery is at least once; receivers de-duplicate by MessageId.
 *
 * Signature is SignatureVersion 2: base64 RSA-SHA256 (PKCS #1 v1.5) over
 * SNS's string to sign for a Notification, "NAME\nVALUE\n" for Message,
 * MessageId, Subject, Timestamp, TopicArn and Type in that order.
 *
 * Before its first Notification an endpoint may get SNS's handshake, a
 * SubscriptionConfirmation: { "Type", "MessageId" (random), "Token",
 * "TopicArn", "Message", "SubscribeURL", "Timestamp", "SignatureVersion",
 * "Signature", "SigningCertURL" }, signed over Message, MessageId,
 * SubscribeURL, Timestamp, Token, TopicArn and Type.  mailward serves no
 * SubscribeURL: it is the endpoint's own URL with Action, TopicArn and
 * Token added, for the record; a 2xx answer to the POST is what confirms
 * (common/webhook_dispatch.h).
 */
#ifndef MW_WEBHOOK_H
#define MW_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "common/buf.h"

#define SNS_UUID_LEN 36

/* What one endpoint's notifications say besides the event. */
struct sns_topic {
	const char *topic_arn;
	const char *signing_cert_url;
	const char *unsubscribe_url; /* "" leaves UnsubscribeURL out */
	EVP_PKEY *key;               /* RSA */
	bool notification_shape;     /* notificationType instead of eventType */
};

/* The fields that are signed. */
struct sns_signed_fields {
	const char *message;
	const char *message_id;
	const char *subject; /* NULL: not present */
	const char *timestamp;
	const char *topic_arn;
	const char *type;
	const char *subscribe_url; /* SubscriptionConfirmation only, else NULL */
	const char *token;         /* SubscriptionConfirmation only, else NULL */
};

/* MessageId of the event file NAME (the same for every retry and endpoint). */
void sns_message_id(const char *event_name, char out[SNS_UUID_LEN + 1]);

/* SNS's string to sign (appended to out). */
void sns_string_to_sign(const struct sns_signed_fields *f, struct buf *out);

/*
 * The notification body for the event file NAME holding event (len bytes),
 * into body; the MessageId into message_id.  0, or -1 with a reason in err
 * (not a JSON object, a name without a creation time, signing failed).
 */
int sns_notification(const struct sns_topic *topic, const char *event_name, const char *event,
                     size_t len, struct buf *body, char message_id[SNS_UUID_LEN + 1],
                     struct buf *err);

/*
 * A SubscriptionConfirmation for the endpoint at url, into body; its
 * MessageId into message_id.  0, or -1 with a reason in err.
 */
int sns_subscription_confirmation(const struct sns_topic *topic, const char *url, struct buf *body,
                                  char message_id[SNS_UUID_LEN + 1], struct buf *err);

#endif
