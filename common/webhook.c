/*
 * webhook - SNS HTTP notifications of spool events; see webhook.h.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "common/timefmt.h"
#include "common/webhook.h"
#include "common/xalloc.h"

/* The namespace of mailward's name-based MessageIds (RFC 4122 section 4.3). */
static const unsigned char message_id_namespace[16] = {
	0x3b, 0x8f, 0x52, 0x1e, 0x9a, 0x4d, 0x4c, 0x71,
	0xa6, 0x0e, 0x5d, 0x2b, 0x61, 0x77, 0xe0, 0x94,
};

void
sns_message_id(const char *event_name, char out[SNS_UUID_LEN + 1])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	struct buf input = BUF_INIT;
	char *p = out;

	/* Version 5 (SHA-1) is the standard name-based UUID; SHA-1 only spreads names here. */
	buf_append(&input, message_id_namespace, sizeof(message_id_namespace));
	buf_puts(&input, event_name);
	if (EVP_Digest(input.data, input.len, digest, NULL, EVP_sha1(), NULL) != 1)
		log_panic("SHA-1 is not available");
	buf_free(&input);
	digest[6] = (unsigned char)((digest[6] & 0x0f) | 0x50);
	digest[8] = (unsigned char)((digest[8] & 0x3f) | 0x80);
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", digest[i]);
	}
}

static void
add_field(struct buf *out, const char *name, const char *value)
{
	buf_printf(out, "%s\n%s\n", name, value);
}

void
sns_string_to_sign(const struct sns_signed_fields *f, struct buf *out)
{
	add_field(out, "Message", f->message);
	add_field(out, "MessageId", f->message_id);
	if (f->subject != NULL)
		add_field(out, "Subject", f->subject);
	if (f->subscribe_url != NULL)
		add_field(out, "SubscribeURL", f->subscribe_url);
	add_field(out, "Timestamp", f->timestamp);
	if (f->token != NULL)
		add_field(out, "Token", f->token);
	add_field(out, "TopicArn", f->topic_arn);
	add_field(out, "Type", f->type);
}

/* The creation time a spool name starts with ("SECONDS.MICROS."), as ISO 8601. */
static int
name_timestamp(const char *name, char out[TIMEFMT_ISO8601_LEN])
{
	struct timespec ts;
	char *end;
	long long secs;
	long micros;

	errno = 0;
	secs = strtoll(name, &end, 10);
	if (errno != 0 || end == name || *end != '.' || secs < 0)
		return -1;
	micros = strtol(end + 1, &end, 10);
	if (*end != '.' || micros < 0 || micros > 999999)
		return -1;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = micros * 1000L;
	timefmt_iso8601(&ts, out, TIMEFMT_ISO8601_LEN);
	return 0;
}

/*
 * The event in the endpoint's shape, as the Message string, and its type
 * (the Subject).  The spool's bytes are kept as they are when the shape
 * already fits; otherwise the type key is renamed in place.
 */
static int
shape_message(const char *event, size_t len, bool notification_shape, struct buf *message,
              char **subject, struct buf *err)
{
	const char *want = notification_shape ? "notificationType" : "eventType";
	const char *other = notification_shape ? "eventType" : "notificationType";
	json_error_t jerr;
	json_t *doc, *type, *shaped;
	const char *key;
	json_t *value;
	char *text;

	doc = json_loadb(event, len, 0, &jerr);
	if (doc == NULL || !json_is_object(doc)) {
		buf_printf(err, "not a JSON object: %s", doc == NULL ? jerr.text : "other value");
		json_decref(doc);
		return -1;
	}
	type = json_object_get(doc, want);
	if (type == NULL)
		type = json_object_get(doc, other);
	*subject = json_is_string(type) ? xstrdup(json_string_value(type)) : NULL;
	if (json_object_get(doc, other) == NULL) {
		while (len > 0 && (event[len - 1] == '\n' || event[len - 1] == '\r'))
			len--;
		buf_append(message, event, len);
		json_decref(doc);
		return 0;
	}
	shaped = json_object();
	json_object_foreach(doc, key, value)
	{
		json_object_set(shaped, strcmp(key, other) == 0 ? want : key, value);
	}
	text = json_dumps(shaped, JSON_COMPACT | JSON_PRESERVE_ORDER);
	buf_puts(message, text);
	free(text);
	json_decref(shaped);
	json_decref(doc);
	return 0;
}

/* base64 RSA-SHA256 of data. */
static int
sign_base64(EVP_PKEY *key, const struct buf *data, struct buf *out, struct buf *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t siglen = 0;
	int rc = -1;

	if (md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)data->data, data->len) == 1) {
		sig = xmalloc(siglen);
		if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)data->data,
		                   data->len) == 1) {
			char *b64 = xmalloc(4 * ((siglen + 2) / 3) + 1);
			EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
			buf_puts(out, b64);
			free(b64);
			rc = 0;
		}
	}
	if (rc < 0)
		buf_puts(err, "signing the notification failed");
	free(sig);
	EVP_MD_CTX_free(md);
	return rc;
}

static void
set_string(json_t *obj, const char *key, const char *value)
{
	json_object_set_new(obj, key, json_string(value));
}

int
sns_notification(const struct sns_topic *topic, const char *event_name, const char *event,
                 size_t len, struct buf *body, char message_id[SNS_UUID_LEN + 1], struct buf *err)
{
	struct buf message = BUF_INIT, to_sign = BUF_INIT, signature = BUF_INIT;
	char timestamp[TIMEFMT_ISO8601_LEN];
	char *subject = NULL, *text;
	json_t *doc;
	int rc = -1;

	sns_message_id(event_name, message_id);
	if (name_timestamp(event_name, timestamp) < 0) {
		buf_printf(err, "%s: not a spool event name", event_name);
		return -1;
	}
	if (shape_message(event, len, topic->notification_shape, &message, &subject, err) < 0)
		goto out;
	sns_string_to_sign(&(struct sns_signed_fields){ .message = buf_str(&message),
	                                                .message_id = message_id,
	                                                .subject = subject,
	                                                .timestamp = timestamp,
	                                                .topic_arn = topic->topic_arn,
	                                                .type = "Notification" },
	                   &to_sign);
	if (sign_base64(topic->key, &to_sign, &signature, err) < 0)
		goto out;

	doc = json_object();
	set_string(doc, "Type", "Notification");
	set_string(doc, "MessageId", message_id);
	set_string(doc, "TopicArn", topic->topic_arn);
	if (subject != NULL)
		set_string(doc, "Subject", subject);
	json_object_set_new(doc, "Message", json_stringn(message.data, message.len));
	set_string(doc, "Timestamp", timestamp);
	set_string(doc, "SignatureVersion", "2");
	set_string(doc, "Signature", buf_str(&signature));
	set_string(doc, "SigningCertURL", topic->signing_cert_url);
	if (*topic->unsubscribe_url != '\0')
		set_string(doc, "UnsubscribeURL", topic->unsubscribe_url);
	if (json_object_get(doc, "Message") == NULL) {
		buf_puts(err, "the event is not valid UTF-8");
	} else {
		text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		buf_puts(body, text);
		free(text);
		rc = 0;
	}
	json_decref(doc);
out:
	free(subject);
	buf_free(&message);
	buf_free(&to_sign);
	buf_free(&signature);
	return rc;
}

/* ------------------------------------------------ SubscriptionConfirmation */

static void
hex_random(char *out, size_t bytes)
{
	unsigned char rnd[64];

	if (bytes > sizeof(rnd) || getrandom(rnd, bytes, 0) != (ssize_t)bytes)
		log_panic("no random bytes for a subscription token");
	for (size_t i = 0; i < bytes; i++)
		sprintf(out + 2 * i, "%02x", rnd[i]);
}

/* A random (version 4) UUID: a handshake is not an event, nothing to derive it from. */
static void
random_uuid(char out[SNS_UUID_LEN + 1])
{
	char hex[33];
	char *p = out;

	hex_random(hex, 16);
	hex[12] = '4';
	hex[16] = "89ab"[hex[16] % 4];
	for (int i = 0; i < 32; i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			*p++ = '-';
		*p++ = hex[i];
	}
	*p = '\0';
}

/* The endpoint's URL with SNS's query: Action, TopicArn (escaped) and Token. */
static void
subscribe_url(const char *url, const char *topic_arn, const char *token, struct buf *out)
{
	buf_printf(out, "%s%sAction=ConfirmSubscription&TopicArn=", url,
	           strchr(url, '?') != NULL ? "&" : "?");
	for (const char *p = topic_arn; *p; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-_.~", *p) != NULL)
			buf_printf(out, "%c", *p);
		else
			buf_printf(out, "%%%02X", (unsigned char)*p);
	buf_printf(out, "&Token=%s", token);
}

int
sns_subscription_confirmation(const struct sns_topic *topic, const char *url, struct buf *body,
                              char message_id[SNS_UUID_LEN + 1], struct buf *err)
{
	struct buf message = BUF_INIT, to_sign = BUF_INIT, signature = BUF_INIT, link = BUF_INIT;
	char timestamp[TIMEFMT_ISO8601_LEN], token[129];
	struct timespec now;
	json_t *doc;
	char *text;
	int rc = -1;

	random_uuid(message_id);
	hex_random(token, 64);
	clock_gettime(CLOCK_REALTIME, &now);
	timefmt_iso8601(&now, timestamp, sizeof(timestamp));
	subscribe_url(url, topic->topic_arn, token, &link);
	buf_printf(&message,
	           "You have chosen to subscribe to the topic %s.\nTo confirm the subscription, "
	           "answer this message with a 2xx status (mailward does not serve SubscribeURL).",
	           topic->topic_arn);
	sns_string_to_sign(&(struct sns_signed_fields){ .message = buf_str(&message),
	                                                .message_id = message_id,
	                                                .subscribe_url = buf_str(&link),
	                                                .timestamp = timestamp,
	                                                .token = token,
	                                                .topic_arn = topic->topic_arn,
	                                                .type = "SubscriptionConfirmation" },
	                   &to_sign);
	if (sign_base64(topic->key, &to_sign, &signature, err) == 0) {
		doc = json_object();
		set_string(doc, "Type", "SubscriptionConfirmation");
		set_string(doc, "MessageId", message_id);
		set_string(doc, "Token", token);
		set_string(doc, "TopicArn", topic->topic_arn);
		set_string(doc, "Message", buf_str(&message));
		set_string(doc, "SubscribeURL", buf_str(&link));
		set_string(doc, "Timestamp", timestamp);
		set_string(doc, "SignatureVersion", "2");
		set_string(doc, "Signature", buf_str(&signature));
		set_string(doc, "SigningCertURL", topic->signing_cert_url);
		text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		buf_puts(body, text);
		free(text);
		json_decref(doc);
		rc = 0;
	}
	buf_free(&message);
	buf_free(&to_sign);
	buf_free(&signature);
	buf_free(&link);
	return rc;
}
