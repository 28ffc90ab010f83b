#!/usr/bin/python3
# webhook-receiver.py - an SNS HTTP(S) subscriber for tests/e2e/webhook.sh
#
#   webhook-receiver.py PORT LOG CERT TOPIC_ARN CERT_URL UNSUB_URL TYPE_KEY FAIL_FILE
#
# Listens on 127.0.0.1:PORT (RECEIVER_ADDR in the environment: that address).  Each POST is checked the way an SNS consumer
# checks a notification: the x-amz-sns-* and Content-Type headers, every
# envelope field, and the SignatureVersion 2 signature (RSA-SHA256 over
# SNS's string to sign) against the public key of CERT.  A
# SubscriptionConfirmation (the optional handshake) is checked the same way,
# with its own fields (Token, SubscribeURL naming the topic and the token).
# One JSON line per request is appended to LOG: {"ok", "why", "type", "id",
# "mail_id", "t" (when it came, Unix time)}, and the body as a JSON string to LOG.raw.  While
# FAIL_FILE exists, the answer is 500 (and nothing is logged); otherwise 200
# for a good notification, 400 for a bad one.  With RECEIVER_TLS=CERT:KEY in
# the environment it speaks HTTPS.  With RECEIVER_DIE_FILE=FILE, once FILE
# exists the next notification is logged and the process exits without
# answering (the sender must retry it: a duplicate).
import base64
import json
import re
import sys
import os
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

port, log_path, cert_path, topic, cert_url, unsub_url, type_key, fail_file = sys.argv[1:9]
with open(cert_path, "rb") as f:
    public_key = x509.load_pem_x509_certificate(f.read()).public_key()

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FIELDS = {"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
          "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"}
CONFIRM_FIELDS = {"Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL",
                  "Timestamp", "SignatureVersion", "Signature", "SigningCertURL"}
RANDOM_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def string_to_sign(n):
    keys = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
    if n.get("Type") == "SubscriptionConfirmation":
        keys = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    out = ""
    for key in keys:
        if key in n:
            out += key + "\n" + n[key] + "\n"
    return out.encode()


def signature_problems(n):
    try:
        public_key.verify(base64.b64decode(n.get("Signature", "")), string_to_sign(n),
                          padding.PKCS1v15(), hashes.SHA256())
        return []
    except Exception:  # InvalidSignature, bad base64
        return ["signature does not verify"]


def confirmation_problems(headers, n):
    """Everything wrong with a SubscriptionConfirmation."""
    why = []
    for key, value in {"TopicArn": topic, "SignatureVersion": "2",
                       "SigningCertURL": cert_url}.items():
        if n.get(key) != value:
            why.append("%s is %r" % (key, n.get(key)))
    if set(n) != CONFIRM_FIELDS:
        why.append("fields %s" % sorted(set(n) ^ CONFIRM_FIELDS))
    if not RANDOM_UUID.match(n.get("MessageId", "")):
        why.append("MessageId is not a version 4 UUID")
    if not re.match(r"^[0-9a-f]{64,}$", n.get("Token", "")):
        why.append("Token %r" % n.get("Token"))
    url = n.get("SubscribeURL", "")
    if ("Action=ConfirmSubscription" not in url or "Token=" + n.get("Token", "-") not in url
            or "TopicArn=" + topic.replace(":", "%3A") not in url):
        why.append("SubscribeURL %r" % url)
    if not STAMP.match(n.get("Timestamp", "")):
        why.append("Timestamp %r" % n.get("Timestamp"))
    if headers.get("x-amz-sns-message-type") != "SubscriptionConfirmation":
        why.append("header x-amz-sns-message-type is %r" % headers.get("x-amz-sns-message-type"))
    return why + signature_problems(n)


def problems(headers, n):
    """Everything wrong with one notification, as a list of reasons."""
    why = []
    expect = {"Type": "Notification", "TopicArn": topic, "SignatureVersion": "2",
              "SigningCertURL": cert_url, "UnsubscribeURL": unsub_url}
    for key, value in expect.items():
        if n.get(key) != value:
            why.append("%s is %r" % (key, n.get(key)))
    if set(n) != FIELDS:
        why.append("fields %s" % sorted(set(n) ^ FIELDS))
    if not UUID.match(n.get("MessageId", "")):
        why.append("MessageId is not a version 5 UUID")
    if not STAMP.match(n.get("Timestamp", "")):
        why.append("Timestamp %r" % n.get("Timestamp"))
    event = json.loads(n.get("Message", "null"))
    if not isinstance(event, dict) or type_key not in event:
        why.append("Message has no %s" % type_key)
    elif n.get("Subject") != event[type_key]:
        why.append("Subject %r is not the event type" % n.get("Subject"))
    want_headers = {"x-amz-sns-message-type": "Notification",
                    "x-amz-sns-message-id": n.get("MessageId"),
                    "x-amz-sns-topic-arn": topic,
                    "Content-Type": "text/plain; charset=UTF-8"}
    for key, value in want_headers.items():
        if headers.get(key) != value:
            why.append("header %s is %r" % (key, headers.get(key)))
    return why + signature_problems(n), event


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        now = round(time.time(), 3)
        if os.path.exists(fail_file):
            self.send_response(500)
            self.end_headers()
            return
        try:
            n = json.loads(body)
            if n.get("Type") == "SubscriptionConfirmation":
                why, event = confirmation_problems(self.headers, n), {}
            else:
                why, event = problems(self.headers, n)
        except Exception as e:  # not JSON at all
            n, why, event = {}, ["unreadable: %s" % e], {}
        record = {"ok": not why, "why": why, "type": n.get("Type"), "id": n.get("MessageId"),
                  "mail_id": (event.get("mail") or {}).get("messageId")
                  if isinstance(event, dict) else None, "t": now}
        with open(log_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        with open(log_path + ".raw", "a") as f:
            f.write(json.dumps(body.decode()) + "\n")
        if os.path.exists(os.environ.get("RECEIVER_DIE_FILE", "/nonexistent")):
            os._exit(1)  # a crash after taking the notification, before answering
        self.send_response(400 if why else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer((os.environ.get("RECEIVER_ADDR", "127.0.0.1"), int(port)), Handler)
if os.environ.get("RECEIVER_TLS"):  # "CERT:KEY": HTTPS with that certificate
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*os.environ["RECEIVER_TLS"].split(":"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
