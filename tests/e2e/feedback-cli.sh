#!/bin/bash
# feedback-cli.sh - "mailward feedback parse": exit statuses and output
#
# A bounce prints one event per bounce type (JSON Lines that jq reads),
# standard input works, --shape notification renames the type key, a
# message that is not feedback or an auto-reply exits 1, an unreadable
# file or bad options exit 2, and nothing is written anywhere.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
mw=${MAILWARD:-$top/mailward}
corpus=$top/tests/data/feedback
. "$top/tests/lib/tap.sh"

command -v jq >/dev/null || skip_all "no jq"
plan 12

out=$("$mw" feedback parse "$corpus/postfix-user-unknown.eml")
check "a bounce exits 0" test $? -eq 0
check "one line of JSON, eventType Bounce" \
	test "$(printf '%s\n' "$out" | jq -r '.eventType' | tr '\n' ' ')" = "Bounce "
check "the bounced recipient and its type are in the event" \
	test "$(printf '%s' "$out" | jq -r '.bounce | .bouncedRecipients[0].emailAddress + " " + .bounceType + "/" + .bounceSubType')" = "bob@example.net Permanent/NoEmail"

out=$("$mw" feedback parse - <"$corpus/postfix-two-recipients.eml")
check "- reads standard input; two bounce types give two lines" \
	test "$(printf '%s\n' "$out" | jq -r '.bounce.bounceSubType' | tr '\n' ' ')" = "NoEmail MailboxFull "

out=$("$mw" feedback parse --shape notification "$corpus/arf-abuse.eml")
check "--shape notification: notificationType Complaint" \
	test "$(printf '%s' "$out" | jq -r '.notificationType + " " + .complaint.complaintFeedbackType')" = "Complaint abuse"

out=$("$mw" feedback parse "$corpus/normal-message.eml")
check "a message that is not feedback exits 1" test $? -eq 1
check "... and prints nothing" test -z "$out"
"$mw" feedback parse "$corpus/autoreply-vacation.eml" >/dev/null
check "an auto-reply exits 1" test $? -eq 1
"$mw" feedback parse /nonexistent/file.eml >/dev/null 2>&1
check "an unreadable file exits 2" test $? -eq 2
"$mw" feedback parse </dev/null >/dev/null 2>&1
check "no file argument exits 2" test $? -eq 2
"$mw" feedback parse --shape nonsense - </dev/null >/dev/null 2>&1
check "a bad --shape exits 2" test $? -eq 2
out=$("$mw" feedback --help)
case $out in
*"notification"*"Exit status: 0 events printed, 1"*) pass "--help documents shapes and exit statuses" ;;
*) fail "--help documents shapes and exit statuses" ;;
esac

done_testing
