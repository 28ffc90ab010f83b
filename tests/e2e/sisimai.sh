#!/bin/bash
# sisimai.sh - mailward's bounce reading against Sisimai's, on the corpus
#
# Sisimai (Debian libsisimai-perl) is the reference bounce classifier.  For
# every message of tests/data/feedback both read the failed and delayed
# recipients (complaints, auto-replies and delivery reports are not
# bounces to either) and say whether each failure is permanent or
# transient.  Reported, and asserted at 98% or better:
#   recipients   recipients both found / recipients either found
#   permanence   same permanent-or-transient verdict / recipients both found
#
# Sisimai's verdict in SES terms: its hard bounces (userunknown,
# hostunknown, hasmoved) are Permanent; a delay, and the reasons SES files
# under Transient whatever the status class (mailboxfull, mesgtoobig,
# exceedlimit, contenterror, spamdetected, virusdetected), are Transient;
# every other reason follows the class of its delivery status (5
# Permanent, 4 Transient).  Sisimai's own softbounce flag calls rejected,
# blocked, filtered and policy failures "soft" even with a 5.x.x status,
# which SES (and mailward) report as Permanent/General.
#
# Messages read differently on purpose are listed in $documented below
# with the reason; the figures are given with and without them and the
# 98% is asserted without them.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
mw=${MAILWARD:-$top/mailward}
corpus=$top/tests/data/feedback
. "$top/tests/lib/tap.sh"

perl -MSisimai -e 1 2>/dev/null || skip_all "no Sisimai (apt-get install libsisimai-perl)"
command -v jq >/dev/null || skip_all "no jq"

work=$(mktemp -d /tmp/mw-sisimai.XXXXXX)
trap 'rm -rf "$work"' EXIT

plan 3

# FILE  why Sisimai and mailward differ on it, for a good reason
documented="
person-delivery-failed-subject.eml  a person's message whose subject says 'Delivery failed' and
                                    that names another address: Sisimai guesses a bounce (reason
                                    onhold, status 5.0.901: it found no reason); mailward wants a
                                    daemon sender, a DSN or an MTA's words before it calls a
                                    message that names no failure a bounce
"

# One line per recipient: FILE ADDRESS VERDICT SOFTBOUNCE-FLAG-VERDICT
perl -MSisimai -e '
	my %transient = map { $_ => 1 } qw(mailboxfull mesgtoobig exceedlimit contenterror
	                                    spamdetected virusdetected);
	for my $file (@ARGV) {
		(my $name = $file) =~ s{.*/}{};
		for my $e (@{ Sisimai->make($file, delivered => 1) || [] }) {
			my $reason = $e->reason;
			next if $reason =~ /^(feedback|vacation|delivered)$/;
			my $class = substr($e->deliverystatus || "", 0, 1);
			my $verdict = $e->softbounce == 0 ? "Permanent"
			    : ($e->action // "") eq "delayed" || $transient{$reason} ? "Transient"
			    : $class eq "5" ? "Permanent" : $class eq "4" ? "Transient" : "Undetermined";
			my $flag = $e->softbounce == 0 ? "Permanent" : "Transient";
			print join(" ", $name, lc $e->recipient->address, $verdict, $flag), "\n";
		}
	}' "$corpus"/*.eml | sort >"$work/sisimai"

for f in "$corpus"/*.eml; do
	name=${f##*/}
	"$mw" feedback parse "$f" 2>/dev/null | jq -r --arg f "$name" '
		(.bounce // empty | .bounceType as $t | .bouncedRecipients[] | "\($f) \(.emailAddress | ascii_downcase) \($t)"),
		(.deliveryDelay // empty | .delayedRecipients[] | "\($f) \(.emailAddress | ascii_downcase) Transient")'
done | sort >"$work/mailward"

check "both readers produced recipients" test -s "$work/sisimai" -a -s "$work/mailward"

# agreement FILTER: sets both, either, same, raw for the lines whose file matches FILTER
agreement() {
	local keep=$1
	grep -Ev "$keep" "$work/sisimai" >"$work/s" || true
	grep -Ev "$keep" "$work/mailward" >"$work/m" || true
	cut -d' ' -f1,2 "$work/s" | sort -u >"$work/s.rcpt"
	cut -d' ' -f1,2 "$work/m" | sort -u >"$work/m.rcpt"
	both=$(comm -12 "$work/s.rcpt" "$work/m.rcpt" | wc -l)
	either=$(sort -u "$work/s.rcpt" "$work/m.rcpt" | wc -l)
	same=$(join <(awk '{print $1"|"$2, $3}' "$work/s" | sort) \
		<(awk '{print $1"|"$2, $3}' "$work/m" | sort) | awk '$2 == $3' | wc -l)
	raw=$(join <(awk '{print $1"|"$2, $4}' "$work/s" | sort) \
		<(awk '{print $1"|"$2, $3}' "$work/m" | sort) | awk '$2 == $3' | wc -l)
	rcpt_pct=$((either > 0 ? 1000 * both / either : 0))
	perm_pct=$((both > 0 ? 1000 * same / both : 0))
}
pct() { echo "$(($1 / 10)).$(($1 % 10))%"; }

agreement '^$'
comm -3 "$work/s.rcpt" "$work/m.rcpt" | sed 's/^[[:space:]]*/# recipient found by one only: /'
join <(awk '{print $1"|"$2, $3}' "$work/s" | sort) <(awk '{print $1"|"$2, $3}' "$work/m" | sort) |
	awk '$2 != $3 {print "# verdicts differ: " $1 " sisimai=" $2 " mailward=" $3}'
diag "whole corpus: recipients $both of $either found by both ($(pct $rcpt_pct));" \
	"permanent vs transient $same of $both agree ($(pct $perm_pct))"

skip=$(echo "$documented" | awk '/^[a-z0-9.-]+\.eml/ {printf "%s^%s ", sep, $1; sep="|"}' | tr -d ' ')
agreement "${skip:-^$}"
diag "without the documented files: recipients $both of $either found by both ($(pct $rcpt_pct));" \
	"permanent vs transient $same of $both agree ($(pct $perm_pct))"
diag "(Sisimai's bare softbounce flag instead of its reasons: $raw of $both agree; see the top)"
check "recipients found agree at 98% or better" test "$rcpt_pct" -ge 980
check "permanent vs transient agree at 98% or better" test "$perm_pct" -ge 980

done_testing
