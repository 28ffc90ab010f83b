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

cut -d' ' -f1,2 "$work/sisimai" | sort -u >"$work/s.rcpt"
cut -d' ' -f1,2 "$work/mailward" | sort -u >"$work/m.rcpt"
both=$(comm -12 "$work/s.rcpt" "$work/m.rcpt" | wc -l)
either=$(sort -u "$work/s.rcpt" "$work/m.rcpt" | wc -l)
same=$(join <(awk '{print $1"|"$2, $3}' "$work/sisimai" | sort) \
	<(awk '{print $1"|"$2, $3}' "$work/mailward" | sort) | awk '$2 == $3' | wc -l)

comm -3 "$work/s.rcpt" "$work/m.rcpt" | sed 's/^/# recipient found by one only: /'
join <(awk '{print $1"|"$2, $3}' "$work/sisimai" | sort) \
	<(awk '{print $1"|"$2, $3}' "$work/mailward" | sort) |
	awk '$2 != $3 {print "# verdicts differ: " $1 " sisimai=" $2 " mailward=" $3}'

raw=$(join <(awk '{print $1"|"$2, $4}' "$work/sisimai" | sort) \
	<(awk '{print $1"|"$2, $3}' "$work/mailward" | sort) | awk '$2 == $3' | wc -l)
diag "(Sisimai's bare softbounce flag instead: $raw of $both agree; see the top of this file)"

rcpt_pct=$((either > 0 ? 1000 * both / either : 0))
perm_pct=$((both > 0 ? 1000 * same / both : 0))
diag "recipients: $both of $either found by both ($((rcpt_pct / 10)).$((rcpt_pct % 10))%)"
diag "permanent vs transient: $same of $both agree ($((perm_pct / 10)).$((perm_pct % 10))%)"
check "recipients found agree at 98% or better" test "$rcpt_pct" -ge 980
check "permanent vs transient agree at 98% or better" test "$perm_pct" -ge 980

done_testing
