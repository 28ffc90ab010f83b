#!/usr/bin/python3
"""make-corpus.py - write the feedback corpus (*.eml) in this directory.

Every message is built here from the formats the MTAs write (RFC 3464
DSNs, RFC 5965 ARF reports, and the text bounces of Exim, qmail, Yahoo and
Exchange), not copied from anywhere.  Run it again after editing; the
expected results (*.expect.json) are kept by hand next to each message.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "f7qcaj6xubr7m2gmqf3vfx2q4gmsgcmx7mbxp3twhfmhrtmy6oina"
TOKEN2 = "mkbvtxyysi7dl3zg4pf44ye36t2fmr47lbbhqxmq4vq227r667jy7"
VERP = f"b-{TOKEN}@bounce.example.org"


def original(to="bob@example.net", subject="Your November invoice",
             msgid="20261123091200.4F1A2@mail.example.org", extra="", body=True):
    head = (f"Return-Path: <{VERP}>\n"
            f"Received: from app1.example.org (app1.example.org [198.51.100.7])\n"
            f"\tby mail.example.org (Postfix) with ESMTPSA id 4F1A2\n"
            f"\tfor <{to}>; Mon, 23 Nov 2026 09:12:00 +0000 (UTC)\n"
            f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;\n"
            f"\ts=mw2026; h=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\n"
            f"\tb=dGVzdCBzaWduYXR1cmUgZm9yIHRoZSBjb3JwdXMsIG5vdCBhIHJlYWwgb25l\n"
            f"From: Example Billing <billing@example.org>\n"
            f"To: {to}\n"
            f"Subject: {subject}\n"
            f"Date: Mon, 23 Nov 2026 09:12:00 +0000\n"
            f"Message-ID: <{msgid}>\n"
            f"MIME-Version: 1.0\n"
            f"Content-Type: text/plain; charset=utf-8\n"
            f"Feedback-ID: invoices:acct42:billing:example.org\n"
            f"X-SES-CONFIGURATION-SET: transactional\n"
            f"X-Mailward-Stream: transactional\n"
            f"{extra}")
    if body:
        return head + "\nYour invoice for November is attached to your account page.\n"
    return head


def dsn(name, mta_from, subject, human, per_message, per_rcpt, orig, orig_type="message/rfc822",
        date="Mon, 23 Nov 2026 09:12:04 +0000", boundary="DSNb0undary.1700", extra_headers=""):
    rcpts = "\n\n".join(per_rcpt)
    msg = (f"Return-Path: <>\n"
           f"Received: by mail.example.org (Postfix) id 7C2D1; {date}\n"
           f"Date: {date}\n"
           f"From: {mta_from}\n"
           f"Subject: {subject}\n"
           f"To: {VERP}\n"
           f"Auto-Submitted: auto-replied\n"
           f"MIME-Version: 1.0\n"
           f"Content-Type: multipart/report; report-type=delivery-status;\n"
           f"\tboundary=\"{boundary}\"\n"
           f"Message-Id: <{name}.{boundary}@mail.example.org>\n"
           f"{extra_headers}"
           f"\n"
           f"This is a MIME-encapsulated message.\n\n"
           f"--{boundary}\n"
           f"Content-Description: Notification\n"
           f"Content-Type: text/plain; charset=us-ascii\n\n"
           f"{human}\n"
           f"--{boundary}\n"
           f"Content-Description: Delivery report\n"
           f"Content-Type: message/delivery-status\n\n"
           f"{per_message}\n\n{rcpts}\n"
           f"--{boundary}\n"
           f"Content-Description: Undelivered Message\n"
           f"Content-Type: {orig_type}\n\n"
           f"{orig}\n"
           f"--{boundary}--\n")
    write(name, msg)


def write(name, text, binary=False):
    path = os.path.join(HERE, name + ".eml")
    mode = "wb" if binary else "w"
    with open(path, mode) as f:
        f.write(text)


POSTFIX_FROM = "MAILER-DAEMON@mail.example.org (Mail Delivery System)"
POSTFIX_HUMAN = """This is the mail system at host mail.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system
"""
POSTFIX_MSG = """Reporting-MTA: dns; mail.example.org
X-Postfix-Queue-ID: 4F1A2
X-Postfix-Sender: rfc822; """ + VERP + """
Arrival-Date: Mon, 23 Nov 2026 09:12:00 +0000 (UTC)"""


def postfix():
    dsn("postfix-user-unknown", POSTFIX_FROM, "Undelivered Mail Returned to Sender",
        POSTFIX_HUMAN + "\n<bob@example.net>: host mx.example.net[192.0.2.25] said: 550 5.1.1\n"
        "    <bob@example.net>: Recipient address rejected: User unknown in local\n"
        "    recipient table (in reply to RCPT TO command)\n",
        POSTFIX_MSG,
        ["Final-Recipient: rfc822; bob@example.net\nOriginal-Recipient: rfc822;bob@example.net\n"
         "Action: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.example.net\n"
         "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: Recipient address\n"
         "    rejected: User unknown in local recipient table"],
        original())
    dsn("postfix-mailbox-full", POSTFIX_FROM, "Undelivered Mail Returned to Sender",
        POSTFIX_HUMAN, POSTFIX_MSG,
        ["Final-Recipient: rfc822; carol@example.net\nAction: failed\nStatus: 5.2.2\n"
         "Remote-MTA: dns; mx2.example.net\n"
         "Diagnostic-Code: smtp; 552 5.2.2 <carol@example.net>: Mailbox full, quota\n"
         "    exceeded"],
        original(to="carol@example.net", body=False), orig_type="text/rfc822-headers")
    dsn("postfix-delayed", POSTFIX_FROM, "Delayed Mail (still being retried)",
        "This is the mail system at host mail.example.org.\n\n####################################"
        "################################\n# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR "
        "MESSAGE. #\n####################################################################\n",
        POSTFIX_MSG,
        ["Final-Recipient: rfc822; dan@example.net\nOriginal-Recipient: rfc822;dan@example.net\n"
         "Action: delayed\nStatus: 4.4.1\n"
         "Diagnostic-Code: X-Postfix; connect to mx.example.net[192.0.2.30]:25: Connection\n"
         "    timed out\nWill-Retry-Until: Mon, 30 Nov 2026 09:12:00 +0000 (UTC)"],
        original(to="dan@example.net", body=False), orig_type="text/rfc822-headers")
    dsn("postfix-expired", POSTFIX_FROM, "Undelivered Mail Returned to Sender",
        POSTFIX_HUMAN, POSTFIX_MSG,
        ["Final-Recipient: rfc822; erin@example.net\nAction: failed\nStatus: 4.4.1\n"
         "Diagnostic-Code: X-Postfix; delivery temporarily suspended: connect to\n"
         "    mx.example.net[192.0.2.30]:25: Connection timed out"],
        original(to="erin@example.net"))
    dsn("postfix-two-recipients", POSTFIX_FROM, "Undelivered Mail Returned to Sender",
        POSTFIX_HUMAN, POSTFIX_MSG,
        ["Final-Recipient: rfc822; frank@example.net\nAction: failed\nStatus: 5.1.1\n"
         "Remote-MTA: dns; mx.example.net\nDiagnostic-Code: smtp; 550 5.1.1 <frank@example.net>:"
         " Recipient address rejected: User unknown",
         "Final-Recipient: rfc822; grace@example.net\nAction: failed\nStatus: 5.2.2\n"
         "Remote-MTA: dns; mx.example.net\nDiagnostic-Code: smtp; 552 5.2.2 <grace@example.net>:"
         " Mailbox full"],
        original(to="frank@example.net, grace@example.net"))
    dsn("postfix-delivered", POSTFIX_FROM, "Successful Mail Delivery Report",
        "This is the mail system at host mail.example.org.\n\nYour message was successfully "
        "delivered to the destination(s)\nlisted below.\n", POSTFIX_MSG,
        ["Final-Recipient: rfc822; heidi@example.net\nOriginal-Recipient: rfc822;heidi@example.net\n"
         "Action: relayed\nStatus: 2.0.0\nRemote-MTA: dns; mx.example.net\n"
         "Diagnostic-Code: smtp; 250 2.0.0 Ok: queued as 91B3E"],
        original(to="heidi@example.net", body=False), orig_type="text/rfc822-headers")
    # A 5.0.0 status (the remote server gave no enhanced code) with the real one in the text.
    dsn("postfix-vague-status", POSTFIX_FROM, "Undelivered Mail Returned to Sender",
        POSTFIX_HUMAN, POSTFIX_MSG,
        ["Final-Recipient: rfc822; ivan@example.net\nAction: failed\nStatus: 5.0.0\n"
         "Remote-MTA: dns; mx.example.net\n"
         "Diagnostic-Code: smtp; 550 Requested action not taken: mailbox unavailable\n"
         "    (5.1.1 no such user here)"],
        original(to="ivan@example.net"))

    dsn("postfix-host-not-found", POSTFIX_FROM, "Undelivered Mail Returned to Sender",
        POSTFIX_HUMAN, POSTFIX_MSG,
        ["Final-Recipient: rfc822; jan@nowhere.example\nAction: failed\nStatus: 5.4.4\n"
         "Diagnostic-Code: X-Postfix; Host or domain name not found. Name service error\n"
         "    for name=nowhere.example type=AAAA: Host not found"],
        original(to="jan@nowhere.example"))
    dsn("postfix-relay-denied", POSTFIX_FROM, "Undelivered Mail Returned to Sender",
        POSTFIX_HUMAN, POSTFIX_MSG,
        ["Final-Recipient: rfc822; kim@elsewhere.example\nAction: failed\nStatus: 5.7.1\n"
         "Remote-MTA: dns; mx.elsewhere.example\n"
         "Diagnostic-Code: smtp; 554 5.7.1 <kim@elsewhere.example>: Relay access denied"],
        original(to="kim@elsewhere.example"))


def sendmail():
    frm = "Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>"
    human = ("The original message was received at Mon, 23 Nov 2026 09:12:01 GMT\n"
             "from mail.example.org [203.0.113.5]\n\n"
             "   ----- The following addresses had permanent fatal errors -----\n"
             "<judy@example.com>\n"
             "    (reason: 550 5.1.1 <judy@example.com>... User unknown)\n\n"
             "   ----- Transcript of session follows -----\n"
             "... while talking to mail.example.com.:\n"
             ">>> DATA\n<<< 550 5.1.1 <judy@example.com>... User unknown\n"
             "550 5.1.1 <judy@example.com>... User unknown\n<<< 503 5.0.0 Need RCPT (recipient)\n")
    msg = ("Reporting-MTA: dns; mx.example.com\nReceived-From-MTA: DNS; mail.example.org\n"
           "Arrival-Date: Mon, 23 Nov 2026 09:12:01 GMT")
    dsn("sendmail-user-unknown", frm, "Returned mail: see transcript for details", human, msg,
        ["Final-Recipient: RFC822; judy@example.com\nAction: failed\nStatus: 5.1.1\n"
         "Remote-MTA: DNS; mail.example.com\n"
         "Diagnostic-Code: SMTP; 550 5.1.1 <judy@example.com>... User unknown\n"
         "Last-Attempt-Date: Mon, 23 Nov 2026 09:12:03 GMT"],
        original(to="judy@example.com"), boundary="2ANC9k3x013245.1795424523/mx.example.com")
    human2 = human.replace("judy@example.com", "ken@example.com").replace(
        "550 5.1.1 <ken@example.com>... User unknown",
        "552 5.3.4 <ken@example.com>... Message size exceeds fixed maximum message size")
    dsn("sendmail-deferred", frm, "Warning: could not send message for past 4 hours",
        "    **********************************************\n"
        "    **      THIS IS A WARNING MESSAGE ONLY      **\n"
        "    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **\n"
        "    **********************************************\n\n"
        "The original message was received at Mon, 23 Nov 2026 09:12:01 GMT\n\n"
        "   ----- Transcript of session follows -----\n"
        "<oli@example.com>... Deferred: Connection refused by mail.example.com.\n"
        "Warning: message still undelivered after 4 hours\n"
        "Will keep trying until message is 5 days old\n", msg,
        ["Final-Recipient: RFC822; oli@example.com\nAction: delayed\nStatus: 4.4.1\n"
         "Remote-MTA: DNS; mail.example.com\n"
         "Last-Attempt-Date: Mon, 23 Nov 2026 13:12:03 GMT\n"
         "Will-Retry-Until: Sat, 28 Nov 2026 09:12:01 GMT"],
        original(to="oli@example.com", body=False), orig_type="text/rfc822-headers",
        boundary="2ANDCk3x013250.1795439123/mx.example.com")
    dsn("sendmail-too-large", frm, "Returned mail: see transcript for details", human2, msg,
        ["Final-Recipient: RFC822; ken@example.com\nAction: failed\nStatus: 5.3.4\n"
         "Remote-MTA: DNS; mail.example.com\n"
         "Diagnostic-Code: SMTP; 552 5.3.4 Message size exceeds fixed maximum message size\n"
         "Last-Attempt-Date: Mon, 23 Nov 2026 09:12:03 GMT"],
        original(to="ken@example.com"), boundary="2ANC9k3x013246.1795424523/mx.example.com")


def plain(name, frm, subject, text, extra_headers="", date="Mon, 23 Nov 2026 09:12:05 +0000"):
    msg = (f"Return-Path: <>\n"
           f"Date: {date}\n"
           f"From: {frm}\n"
           f"To: {VERP}\n"
           f"Subject: {subject}\n"
           f"Message-ID: <{name}.1795424525@bounce-host.example>\n"
           f"{extra_headers}"
           f"MIME-Version: 1.0\n"
           f"Content-Type: text/plain; charset=us-ascii\n\n{text}")
    write(name, msg)


def exim():
    intro = ("This message was created automatically by mail delivery software.\n\n"
             "A message that you sent could not be delivered to one or more of its\n"
             "recipients. This is a permanent error. The following address(es) failed:\n\n")
    copy = "\n------ This is a copy of the message, including all the headers. ------\n\n"
    plain("exim-user-unknown", "Mail Delivery System <Mailer-Daemon@mx.example.com>",
          "Mail delivery failed: returning message to sender",
          intro + "  leo@example.com\n    host mx.example.com [192.0.2.40]\n"
          "    SMTP error from remote mail server after RCPT TO:<leo@example.com>:\n"
          "    550 5.1.1 <leo@example.com>: Recipient address rejected: User unknown\n"
          + copy + original(to="leo@example.com"),
          extra_headers="X-Failed-Recipients: leo@example.com\nAuto-Submitted: auto-replied\n")
    plain("exim-spam-rejected", "Mail Delivery System <Mailer-Daemon@mx.example.com>",
          "Mail delivery failed: returning message to sender",
          intro + "  mia@example.com\n    host mx.example.com [192.0.2.40]\n"
          "    SMTP error from remote mail server after end of data:\n"
          "    550 5.7.1 Message rejected as spam by content filter\n"
          + copy + original(to="mia@example.com"),
          extra_headers="X-Failed-Recipients: mia@example.com\nAuto-Submitted: auto-replied\n")

    plain("exim-blocklisted", "Mail Delivery System <Mailer-Daemon@mx.example.com>",
          "Mail delivery failed: returning message to sender",
          intro + "  lou@example.com\n    host mx.example.com [192.0.2.41]\n"
          "    SMTP error from remote mail server after RCPT TO:<lou@example.com>:\n"
          "    550 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using\n"
          "    zen.spamhaus.org\n" + copy + original(to="lou@example.com"),
          extra_headers="X-Failed-Recipients: lou@example.com\nAuto-Submitted: auto-replied\n")
    plain("exim-two-recipients", "Mail Delivery System <Mailer-Daemon@mx.example.com>",
          "Mail delivery failed: returning message to sender",
          intro + "  max@example.com\n    host mx.example.com [192.0.2.42]\n"
          "    SMTP error from remote mail server after RCPT TO:<max@example.com>:\n"
          "    550 5.1.1 <max@example.com>: No such user here\n"
          "  ned@example.com\n    host mx.example.com [192.0.2.42]\n"
          "    SMTP error from remote mail server after RCPT TO:<ned@example.com>:\n"
          "    552 5.2.2 <ned@example.com>: Mailbox quota exceeded\n"
          + copy + original(to="max@example.com, ned@example.com"),
          extra_headers="X-Failed-Recipients: max@example.com, ned@example.com\n"
          "Auto-Submitted: auto-replied\n")

    # Exim gave up after retrying: no SMTP reply in the text, X-Failed-Recipients names her.
    plain("exim-retry-timeout", "Mail Delivery System <Mailer-Daemon@mx.example.com>",
          "Mail delivery failed: returning message to sender",
          intro.replace("This is a permanent error. ", "") + "  pam@example.com\n"
          "    retry timeout exceeded\n" + copy + original(to="pam@example.com"),
          extra_headers="X-Failed-Recipients: pam@example.com\nAuto-Submitted: auto-replied\n")


def qmail():
    intro = ("Hi. This is the qmail-send program at mx.example.com.\n"
             "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
             "This is a permanent error; I've given up. Sorry it didn't work out.\n\n")
    copy = "--- Below this line is a copy of the message.\n\n"
    plain("qmail-no-mailbox", "MAILER-DAEMON@mx.example.com", "failure notice",
          intro + "<nina@example.com>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
          + copy + original(to="nina@example.com"))
    plain("qmail-remote-full", "MAILER-DAEMON@mx.example.com", "failure notice",
          intro + "<omar@example.com>:\n192.0.2.50 does not like recipient.\n"
          "Remote host said: 552 5.2.2 <omar@example.com>: Mailbox is full\n"
          "Giving up on 192.0.2.50.\n\n" + copy + original(to="omar@example.com"))


def yahoo():
    plain("yahoo-no-account", "MAILER-DAEMON@yahoo.com", "Failure Notice",
          "Sorry, we were unable to deliver your message to the following address.\n\n"
          "<pat@yahoo.com>:\n554: delivery error: dd This user doesn't have a yahoo.com "
          "account (pat@yahoo.com) [0] - mta1042.mail.gq1.yahoo.com\n\n"
          "--- Below this line is a copy of the message.\n\n" + original(to="pat@yahoo.com"),
          extra_headers="X-Yahoo-Newman-Property: ymail-3\n")


def exchange():
    human = ("Your message to quinn@example.com couldn't be delivered.\n\n"
             "quinn wasn't found at example.com.\n\n"
             "Diagnostic information for administrators:\n\n"
             "Generating server: AM0PR01MB1234.eurprd01.prod.outlook.com\n\n"
             "quinn@example.com\nRemote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; "
             "Recipient not found by SMTP address lookup'\n")
    dsn("exchange-o365-not-found",
        "Microsoft Outlook <postmaster@outlook.com>", "Undeliverable: Your November invoice",
        human, "Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.outlook.com\n"
        "Received-From-MTA: dns;mail.example.org\n"
        "Arrival-Date: Mon, 23 Nov 2026 09:12:02 +0000",
        ["Final-Recipient: rfc822;quinn@example.com\nAction: failed\nStatus: 5.1.10\n"
         "Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found "
         "by SMTP address lookup"],
        original(to="quinn@example.com", body=False), orig_type="text/rfc822-headers",
        boundary="_000_AM0PR01MB1234eurprd01_",
        extra_headers="X-MS-Exchange-Message-Is-Ndr:\nContent-Language: en-US\n")
    dsn("exchange-o365-blocked",
        "Microsoft Outlook <postmaster@outlook.com>", "Undeliverable: Your November invoice",
        "Your message to rob@example.com couldn't be delivered.\n\n"
        "Remote Server returned '550 5.7.606 Access denied, banned sending IP [198.51.100.7]'\n",
        "Reporting-MTA: dns;DB8PR02MB5678.eurprd02.prod.outlook.com\n"
        "Received-From-MTA: dns;mail.example.org\n"
        "Arrival-Date: Mon, 23 Nov 2026 09:12:02 +0000",
        ["Final-Recipient: rfc822;rob@example.com\nAction: failed\nStatus: 5.7.606\n"
         "Diagnostic-Code: smtp;550 5.7.606 Access denied, banned sending IP [198.51.100.7]. "
         "To request removal from this list please visit https://sender.example/"],
        original(to="rob@example.com", body=False), orig_type="text/rfc822-headers",
        boundary="_000_DB8PR02MB5678eurprd02_")
    plain("exchange-legacy-text", "System Administrator <postmaster@example.com>",
          "Undeliverable: Your November invoice",
          "Your message did not reach some or all of the intended recipients.\n\n"
          "      Subject:\tYour November invoice\n      Sent:\t11/23/2026 9:12 AM\n\n"
          "The following recipient(s) cannot be reached:\n\n"
          "      rita@example.com on 11/23/2026 9:12 AM\n"
          "            The e-mail account does not exist at the organization this message "
          "was sent to.  Check the e-mail address, or contact the recipient directly to "
          "find out the correct address.\n"
          "            <mail.example.com #5.1.1 smtp;550 5.1.1 User unknown>\n")


def gmail():
    human = ("** Address not found **\n\nYour message wasn't delivered to sam@example.com because "
             "the address couldn't be found, or is unable to receive mail.\n\n"
             "The response from the remote server was:\n"
             "550 5.1.1 The email account that you tried to reach does not exist.\n")
    msg = ("Reporting-MTA: dns; googlemail.com\n"
           "Arrival-Date: Mon, 23 Nov 2026 01:12:01 -0800 (PST)\n"
           "X-Original-Message-ID: <20261123091200.4F1A2@mail.example.org>")
    dsn("gmail-address-not-found", "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "Delivery Status Notification (Failure)", human, msg,
        ["Final-Recipient: rfc822; sam@example.com\nAction: failed\nStatus: 5.1.1\n"
         "Remote-MTA: dns; gmail-smtp-in.l.google.com. (142.250.102.27, the server for the\n"
         " domain example.com.)\n"
         "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does\n"
         " not exist. Please try 550-5.1.1 double-checking the recipient's email address\n"
         " for typos or 550-5.1.1 unnecessary spaces. 550 5.1.1  d2-20020a05 - gsmtp\n"
         "Last-Attempt-Date: Mon, 23 Nov 2026 01:12:03 -0800 (PST)"],
        original(to="sam@example.com", body=False), orig_type="text/rfc822-headers",
        boundary="000000000000a1b2c3d4e5f60718")
    dsn("gmail-over-quota", "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "Delivery Status Notification (Failure)",
        "** Message blocked **\n\nYour message to pia@gmail.example couldn't be delivered: "
        "the mailbox is full.\n", msg,
        ["Final-Recipient: rfc822; pia@gmail.example\nAction: failed\nStatus: 5.2.2\n"
         "Remote-MTA: dns; gmail-smtp-in.l.google.com. (142.250.102.26, the server for the\n"
         " domain gmail.example.)\n"
         "Diagnostic-Code: smtp; 552-5.2.2 The recipient's inbox is out of storage space.\n"
         " Please direct the recipient to 552-5.2.2 https://support.example/mail/?p=OverQuota\n"
         " 552 5.2.2 a1-20020a05 - gsmtp"],
        original(to="pia@gmail.example", body=False), orig_type="text/rfc822-headers",
        boundary="000000000000c0ffee0123456789")
    dsn("gmail-delay", "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "Delivery Status Notification (Delay)",
        "** Message not delivered yet **\n\nThere was a temporary problem delivering your "
        "message to tom@example.com. Gmail will retry for 46 more hours.\n", msg,
        ["Final-Recipient: rfc822; tom@example.com\nAction: delayed\nStatus: 4.2.2\n"
         "Remote-MTA: dns; mx.example.com. (192.0.2.60, the server for the domain example.com.)\n"
         "Diagnostic-Code: smtp; 452 4.2.2 The email account that you tried to reach is over quota\n"
         "Will-Retry-Until: Wed, 25 Nov 2026 23:12:01 -0800 (PST)"],
        original(to="tom@example.com", body=False), orig_type="text/rfc822-headers",
        boundary="000000000000f1e2d3c4b5a69788")


def generic_text():
    plain("plain-smtp-reply", "Mail Delivery Subsystem <MAILER-DAEMON@relay.example.com>",
          "Returned mail: delivery problems",
          "Your message could not be delivered.\n\n"
          "uma@example.com: 550 5.7.1 Delivery not authorized, message refused by policy\n\n"
          "----- Original message -----\n\n" + original(to="uma@example.com"))
    # A bounce that names nobody and returns nothing: Undetermined, no recipients.
    plain("plain-no-details", "MAILER-DAEMON@relay.example.com",
          "Undelivered Mail Returned to Sender",
          "Your message could not be delivered.  Please contact the administrator.\n")
    plain("plain-too-big", "postmaster@relay.example.com", "Delivery failure",
          "The message could not be delivered to the following recipient:\n\n"
          "  <victor@example.com>\n"
          "    Reason: 552 5.3.4 Message size exceeds limit for this mailbox\n")


def arf(name, ftype, extra_fields="", orig_type="message/rfc822", rcpt=True,
        ua="ExampleFBL/2.1", to="wendy@isp.example"):
    b = "ARFb0undary_" + name
    rcpt_line = f"Original-Rcpt-To: <{to}>\n" if rcpt else ""
    orig = original(to=to, body=(orig_type == "message/rfc822"))
    msg = (f"Return-Path: <fbl@isp.example>\n"
           f"Date: Tue, 24 Nov 2026 10:00:00 +0000\n"
           f"From: Feedback Loop <fbl@isp.example>\n"
           f"To: complaints@example.org\n"
           f"Subject: FW: Your November invoice\n"
           f"Message-ID: <{name}.fbl@isp.example>\n"
           f"MIME-Version: 1.0\n"
           f"Content-Type: multipart/report; report-type=feedback-report;\n\tboundary=\"{b}\"\n\n"
           f"--{b}\nContent-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n"
           f"This is an email abuse report for an email message received from IP\n"
           f"198.51.100.7 on Mon, 23 Nov 2026 09:12:00 +0000.\n\n"
           f"--{b}\nContent-Type: message/feedback-report\n\n"
           f"Feedback-Type: {ftype}\nUser-Agent: {ua}\nVersion: 1\n"
           f"Original-Mail-From: <{VERP}>\n{rcpt_line}"
           f"Arrival-Date: Mon, 23 Nov 2026 09:12:01 +0000\n"
           f"Reporting-MTA: dns; fbl.isp.example\nSource-IP: 198.51.100.7\n"
           f"Reported-Domain: example.org\n{extra_fields}\n"
           f"--{b}\nContent-Type: {orig_type}\n\n{orig}\n--{b}--\n")
    write(name, msg)


def arfs():
    arf("arf-abuse", "abuse")
    arf("arf-fraud", "fraud", to="xavier@isp.example")
    arf("arf-virus", "virus", to="yara@isp.example")
    arf("arf-not-spam", "not-spam", rcpt=False, to="zoe@isp.example")
    arf("arf-auth-failure", "auth-failure",
        extra_fields="Auth-Failure: dkim\nAuthentication-Results: fbl.isp.example; dkim=fail "
        "header.d=example.org\nDKIM-Domain: example.org\nDKIM-Selector: mw2026\n",
        orig_type="text/rfc822-headers", to="adam@isp.example")
    arf("arf-other-redacted", "opt-out", rcpt=False, to="redacted@isp.example", ua="")


def others():
    write("autoreply-vacation",
          "Return-Path: <bea@example.net>\nDate: Mon, 23 Nov 2026 09:13:00 +0000\n"
          "From: Bea <bea@example.net>\nTo: " + VERP + "\n"
          "Subject: Out of Office: Your November invoice\nAuto-Submitted: auto-replied\n"
          "X-Autoreply: yes\nIn-Reply-To: <20261123091200.4F1A2@mail.example.org>\n"
          "Message-ID: <vacation.1@example.net>\nMIME-Version: 1.0\n"
          "Content-Type: text/plain; charset=utf-8\n\n"
          "I am away until 1 December with no access to mail.  For urgent matters\n"
          "write to office@example.net.  Error codes mean nothing here: 550 5.1.1.\n")
    # An Exchange out-of-office reply sent from postmaster@: still not a bounce.
    write("autoreply-from-postmaster",
          "Return-Path: <postmaster@example.net>\nDate: Mon, 23 Nov 2026 09:13:30 +0000\n"
          "From: postmaster@example.net\nTo: " + VERP + "\n"
          "Subject: Automatic reply: Your November invoice\nAuto-Submitted: auto-replied\n"
          "X-Auto-Response-Suppress: All\nMessage-ID: <oof.7@example.net>\nMIME-Version: 1.0\n"
          "Content-Type: text/plain; charset=utf-8\n\n"
          "The postmaster team is out until Monday.  Mail is read then.\n")
    write("normal-message",
          "Return-Path: <carl@example.net>\nDate: Mon, 23 Nov 2026 09:14:00 +0000\n"
          "From: Carl <carl@example.net>\nTo: billing@example.org\n"
          "Subject: Re: Your November invoice\nMessage-ID: <reply.2@example.net>\n"
          "In-Reply-To: <20261123091200.4F1A2@mail.example.org>\nMIME-Version: 1.0\n"
          "Content-Type: text/plain; charset=utf-8\n\nThanks, paid today.\n")
    # A person's message with a bounce-like subject and an address in it: not a bounce.
    write("person-delivery-failed-subject",
          "Return-Path: <dina@example.net>\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n"
          "From: Dina <dina@example.net>\nTo: billing@example.org\n"
          "Subject: Delivery failed for my parcel\nMessage-ID: <parcel.3@example.net>\n"
          "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
          "Hello, the courier says delivery failed.  Please write to\n"
          "dina.home@example.net instead.\n")


def malformed():
    # A DSN cut off in the middle of the delivery-status part: no closing boundary.
    b = "TRUNCb0undary"
    write("malformed-truncated",
          f"From: MAILER-DAEMON@mail.example.org (Mail Delivery System)\n"
          f"Subject: Undelivered Mail Returned to Sender\nTo: {VERP}\n"
          f"Date: Mon, 23 Nov 2026 09:12:04 +0000\nMIME-Version: 1.0\n"
          f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"{b}\"\n\n"
          f"--{b}\nContent-Type: text/plain\n\nThe mail system\n\n"
          f"--{b}\nContent-Type: message/delivery-status\n\n"
          f"Reporting-MTA: dns; mail.example.org\n\n"
          f"Final-Recipient: rfc822; dora@example.net\nAction: failed\nStatus: 5.1.1\n"
          f"Diagnostic-Code: smtp; 550 5.1.1 <dora@example.net>: Recipient add")
    # multipart/report without its boundary parameter: nothing inside can be found.
    write("malformed-no-boundary",
          f"From: MAILER-DAEMON@mail.example.org (Mail Delivery System)\n"
          f"Subject: Undelivered Mail Returned to Sender\nTo: {VERP}\n"
          f"Date: Mon, 23 Nov 2026 09:12:04 +0000\nMIME-Version: 1.0\n"
          f"Content-Type: multipart/report; report-type=delivery-status\n\n"
          f"--lost\nContent-Type: message/delivery-status\n\n"
          f"Final-Recipient: rfc822; ed@example.net\nAction: failed\nStatus: 5.1.1\n\n--lost--\n")
    # Raw 8-bit bytes (Latin-1, invalid UTF-8) in the headers and the report; CRLF lines.
    b = "JUNKb0undary"
    text = (f"From: MAILER-DAEMON@mx.example.com\r\nSubject: Non remis : facture \xe9t\xe9\r\n"
            f"To: {VERP}\r\nDate: Mon, 23 Nov 2026 09:12:04 +0000\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary={b}\r\n\r\n"
            f"--{b}\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n"
            f"Le message n'a pas pu \xeatre remis.\r\n\xff\xfe\x80junk\r\n"
            f"--{b}\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; mx.example.com\r\n\r\n"
            f"Final-Recipient: rfc822; f\xe9lix@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            f"Diagnostic-Code: smtp; 550 5.1.1 utilisateur inconnu \xff\xc3\x28\r\n\r\n"
            f"Final-Recipient: rfc822; gina@example.net\r\nAction: failed\r\nStatus: 5.2.2\r\n"
            f"Diagnostic-Code: smtp; 552 5.2.2 bo\xeete pleine \xff\r\n"
            f"--{b}--\r\n")
    write("malformed-8bit-junk", text.encode("latin-1"), binary=True)


if __name__ == "__main__":
    postfix()
    sendmail()
    exim()
    qmail()
    yahoo()
    exchange()
    gmail()
    generic_text()
    arfs()
    others()
    malformed()
