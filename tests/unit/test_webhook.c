/*
 * test_webhook - SNS notifications of spool events
 *
 * The string to sign is SNS's (fields in order, Subject only when present);
 * MessageIds are the RFC 4122 version 5 UUIDs Python's uuid.uuid5() computes
 * for the same namespace and name; a notification carries the event in the
 * endpoint's shape, the time of the event's name, and a signature that
 * verifies with the public key over the fields it carries.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/webhook.h"
#include "tests/unit/unit.h"

static const struct {
	const char *what;
	struct sns_signed_fields fields;
	const char *expected;
} to_sign_cases[] = {
	{ "with a subject",
	  { "{\"eventType\":\"Bounce\"}", "id-1", "Bounce", "2026-11-23T23:10:15.000Z",
	    "arn:aws:sns:local:1:t", "Notification", NULL, NULL },
	  "Message\n{\"eventType\":\"Bounce\"}\nMessageId\nid-1\nSubject\nBounce\n"
	  "Timestamp\n2026-11-23T23:10:15.000Z\nTopicArn\narn:aws:sns:local:1:t\n"
	  "Type\nNotification\n" },
	{ "without a subject",
	  { "line one\nline two", "id-2", NULL, "T", "arn", "Notification", NULL, NULL },
	  "Message\nline one\nline two\nMessageId\nid-2\nTimestamp\nT\nTopicArn\narn\n"
	  "Type\nNotification\n" },
	{ "a subscription confirmation",
	  { "M", "id-3", NULL, "T", "arn", "SubscriptionConfirmation", "https://e/?Token=k", "k" },
	  "Message\nM\nMessageId\nid-3\nSubscribeURL\nhttps://e/?Token=k\nTimestamp\nT\n"
	  "Token\nk\nTopicArn\narn\nType\nSubscriptionConfirmation\n" },
};

static void
string_to_sign_is_the_sns_canonical_form(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(to_sign_cases) / sizeof(to_sign_cases[0]); i++) {
		struct buf out = BUF_INIT;
		sns_string_to_sign(&to_sign_cases[i].fields, &out);
		if (strcmp(buf_str(&out), to_sign_cases[i].expected) != 0)
			fail_msg("%s: got\n%s", to_sign_cases[i].what, buf_str(&out));
		buf_free(&out);
	}
}

static const struct {
	const char *name, *uuid; /* from Python's uuid.uuid5(namespace, name) */
} message_id_cases[] = {
	{ "1795475415.000001.4242_0000000001.json", "bab9a36f-9651-5b22-940c-f136a12c32f4" },
	{ "1795475415.000002.4242_0000000002.json", "8391a73b-0e01-5064-867f-9f80aba02863" },
};

static void
message_id_is_the_version_5_uuid_of_the_name(void **state)
{
	char id[SNS_UUID_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(message_id_cases) / sizeof(message_id_cases[0]); i++) {
		sns_message_id(message_id_cases[i].name, id);
		assert_string_equal(id, message_id_cases[i].uuid);
	}
}

static EVP_PKEY *
test_key(void)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);

	assert_non_null(key);
	return key;
}

static const char *
field(json_t *doc, const char *name)
{
	json_t *v = json_object_get(doc, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool
signature_verifies(EVP_PKEY *key, json_t *doc)
{
	struct buf to_sign = BUF_INIT;
	unsigned char sig[1024];
	const char *b64 = field(doc, "Signature");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int siglen, ok;

	sns_string_to_sign(
	    &(struct sns_signed_fields){ field(doc, "Message"), field(doc, "MessageId"),
	                                 field(doc, "Subject"), field(doc, "Timestamp"),
	                                 field(doc, "TopicArn"), field(doc, "Type"),
	                                 field(doc, "SubscribeURL"), field(doc, "Token") },
	    &to_sign);
	siglen = EVP_DecodeBlock(sig, (const unsigned char *)b64, (int)strlen(b64));
	/* EVP_DecodeBlock counts the bytes the padding stands for as data. */
	for (size_t n = strlen(b64); n > 0 && b64[n - 1] == '='; n--)
		siglen--;
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestVerify(md, sig, (size_t)siglen, (const unsigned char *)to_sign.data,
	                      to_sign.len) == 1;
	EVP_MD_CTX_free(md);
	buf_free(&to_sign);
	return ok;
}

static void
notification_carries_the_event_in_the_endpoints_shape_signed(void **state)
{
	static const char event[] = "{\"eventType\":\"Bounce\",\"mail\":{\"messageId\":\"m1\"}}\n";
	const char *name = "1795475415.123456.4242_0000000001.json";
	EVP_PKEY *key = test_key();
	struct sns_topic topic = { "arn:aws:sns:local:1:t", "https://h.example/c.pem",
		                   "https://h.example/u", key, true };
	char id[SNS_UUID_LEN + 1];
	struct buf body = BUF_INIT, err = BUF_INIT;
	json_t *doc;

	(void)state;
	assert_int_equal(sns_notification(&topic, name, event, strlen(event), &body, id, &err), 0);
	doc = json_loads(buf_str(&body), 0, NULL);
	assert_non_null(doc);
	assert_string_equal(field(doc, "Type"), "Notification");
	assert_string_equal(field(doc, "MessageId"), id);
	assert_string_equal(field(doc, "TopicArn"), "arn:aws:sns:local:1:t");
	assert_string_equal(field(doc, "Subject"), "Bounce");
	assert_string_equal(field(doc, "Message"),
	                    "{\"notificationType\":\"Bounce\",\"mail\":{\"messageId\":\"m1\"}}");
	assert_string_equal(field(doc, "Timestamp"), "2026-11-23T23:10:15.123Z");
	assert_string_equal(field(doc, "SignatureVersion"), "2");
	assert_string_equal(field(doc, "SigningCertURL"), "https://h.example/c.pem");
	assert_string_equal(field(doc, "UnsubscribeURL"), "https://h.example/u");
	assert_true(signature_verifies(key, doc));
	json_decref(doc);

	/* Event shape: the spool's bytes, less the newline; no UnsubscribeURL when empty. */
	topic.notification_shape = false;
	topic.unsubscribe_url = "";
	buf_reset(&body);
	assert_int_equal(sns_notification(&topic, name, event, strlen(event), &body, id, &err), 0);
	doc = json_loads(buf_str(&body), 0, NULL);
	assert_non_null(doc);
	assert_string_equal(field(doc, "Message"),
	                    "{\"eventType\":\"Bounce\",\"mail\":{\"messageId\":\"m1\"}}");
	assert_null(json_object_get(doc, "UnsubscribeURL"));
	assert_true(signature_verifies(key, doc));
	/* A changed field no longer verifies. */
	json_object_set_new(doc, "TopicArn", json_string("arn:aws:sns:local:1:other"));
	assert_false(signature_verifies(key, doc));
	json_decref(doc);

	buf_free(&body);
	buf_free(&err);
	EVP_PKEY_free(key);
}

static void
unusable_events_and_names_are_refused(void **state)
{
	EVP_PKEY *key = test_key();
	struct sns_topic topic = { "arn", "https://h.example/c.pem", "", key, false };
	char id[SNS_UUID_LEN + 1];
	struct buf body = BUF_INIT, err = BUF_INIT;

	(void)state;
	assert_int_equal(sns_notification(&topic, "x.json", "{}", 2, &body, id, &err), -1);
	assert_non_null(strstr(buf_str(&err), "not a spool event name"));
	buf_reset(&err);
	assert_int_equal(sns_notification(&topic, "1.2.3.json", "[1]", 3, &body, id, &err), -1);
	assert_non_null(strstr(buf_str(&err), "not a JSON object"));
	buf_reset(&err);
	assert_int_equal(sns_notification(&topic, "1.2.3.json", "{", 1, &body, id, &err), -1);
	buf_free(&body);
	buf_free(&err);
	EVP_PKEY_free(key);
}

static void
subscription_confirmation_is_signed_and_names_topic_and_token(void **state)
{
	EVP_PKEY *key = test_key();
	struct sns_topic topic = { "arn:aws:sns:local:1:t", "https://h.example/c.pem", "", key,
		                   false };
	char id[SNS_UUID_LEN + 1], id2[SNS_UUID_LEN + 1], url[512];
	struct buf body = BUF_INIT, body2 = BUF_INIT, err = BUF_INIT;
	json_t *doc, *doc2;

	(void)state;
	assert_int_equal(
	    sns_subscription_confirmation(&topic, "https://hooks.example/sns?x=1", &body, id, &err),
	    0);
	assert_int_equal(
	    sns_subscription_confirmation(&topic, "https://hooks.example/sns", &body2, id2, &err),
	    0);
	doc = json_loads(buf_str(&body), 0, NULL);
	doc2 = json_loads(buf_str(&body2), 0, NULL);
	assert_non_null(doc);
	assert_string_equal(field(doc, "Type"), "SubscriptionConfirmation");
	assert_string_equal(field(doc, "MessageId"), id);
	assert_int_equal(id[14], '4'); /* a random UUID: each handshake its own */
	assert_string_not_equal(id, id2);
	assert_int_equal(strlen(field(doc, "Token")), 128);
	assert_string_not_equal(field(doc, "Token"), field(doc2, "Token"));
	snprintf(url, sizeof(url),
	         "https://hooks.example/sns?x=1&Action=ConfirmSubscription&TopicArn="
	         "arn%%3Aaws%%3Asns%%3Alocal%%3A1%%3At&Token=%s",
	         field(doc, "Token"));
	assert_string_equal(field(doc, "SubscribeURL"), url);
	assert_non_null(strstr(field(doc2, "SubscribeURL"), "/sns?Action=ConfirmSubscription&"));
	assert_string_equal(field(doc, "SignatureVersion"), "2");
	assert_null(field(doc, "UnsubscribeURL"));
	assert_true(signature_verifies(key, doc));
	json_decref(doc);
	json_decref(doc2);
	buf_free(&body);
	buf_free(&body2);
	buf_free(&err);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(string_to_sign_is_the_sns_canonical_form),
		cmocka_unit_test(subscription_confirmation_is_signed_and_names_topic_and_token),
		cmocka_unit_test(message_id_is_the_version_5_uuid_of_the_name),
		cmocka_unit_test(notification_carries_the_event_in_the_endpoints_shape_signed),
		cmocka_unit_test(unusable_events_and_names_are_refused),
	};
	return cmocka_run_group_tests_name("webhook", tests, NULL, NULL);
}
