#!/usr/bin/env bash
# dkim-verify-opendkim.sh - verify every DKIM-Signature of a message with
# OpenDKIM's opendkim-testmsg (opendkim-tools, libopendkim 2.11).
#
# Usage: dkim-verify-opendkim.sh --dns ADDR[:53] [--allow-unsupported]
#                                [--whole] FILE|-
#
# opendkim-testmsg has no option for a DNS server: libopendkim uses the
# system resolver (res_ninit/res_nquery, i.e. /etc/resolv.conf).  So each
# run goes through dns_resolv_conf_run from dns-lib.sh: a private mount
# namespace where /etc/resolv.conf says "nameserver ADDR".  Therefore the
# port must be 53 and this must run as root.  The host's /etc/resolv.conf
# is never touched.
#
# opendkim-testmsg reads the message on stdin, prints nothing on success,
# and on failure prints "opendkim-testmsg: dkim_eom(): REASON" on stderr
# (e.g. "Bad signature", "No signature") and exits non-zero (70).  Its
# status is libopendkim's overall result, which is "pass" as soon as ANY
# signature verifies: a message with one good and one bad signature passes.
# To check every signature, this script runs it once per DKIM-Signature,
# on a copy of the message from which the other DKIM-Signature fields are
# removed.  (That changes nothing a signature covers unless its h= lists
# dkim-signature; such a signature is verified like that anyway and a note
# goes to stderr.)
#
# Output, one line per signature, top to bottom:
#
#     opendkim-testmsg: pass d=DOMAIN s=SELECTOR a=ALGORITHM
#     opendkim-testmsg: fail d=DOMAIN s=SELECTOR a=ALGORITHM: REASON
#     opendkim-testmsg: skip d=DOMAIN s=SELECTOR a=ALGORITHM: unsupported algorithm
#
# and "opendkim-testmsg: none: no DKIM-Signature" when there is none.
# --whole instead runs opendkim-testmsg once on the unmodified message and
# prints one line, "opendkim-testmsg: pass (whole message)" or
# "opendkim-testmsg: fail (whole message): REASON" - its native semantics.
#
# Algorithms: libopendkim 2.11 verifies rsa-sha256, rsa-sha1 and
# ed25519-sha256 (checked on Debian 12: an ed25519 signature passes and
# fails as it should).  --allow-unsupported reports a signature with any
# other a= as "skip" and does not count it.
#
# Exit status: 0 every (non-skipped) signature passed and at least one
# passed; 1 otherwise; 2 usage error; 125 the namespace could not be set up.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=dns-lib.sh
. "$HERE/dns-lib.sh"

usage() {
    echo "usage: dkim-verify-opendkim.sh --dns ADDR[:53] [--allow-unsupported] [--whole] FILE|-" >&2
    exit 2
}

server="" allow_unsupported=0 whole=0 file=""
while (( $# > 0 )); do
    case $1 in
        --dns) (( $# >= 2 )) || usage; server=$2; shift 2 ;;
        --dns=*) server=${1#--dns=}; shift ;;
        --allow-unsupported) allow_unsupported=1; shift ;;
        --whole) whole=1; shift ;;
        --) shift; break ;;
        -?*) usage ;;
        *) break ;;
    esac
done
(( $# == 1 )) || usage
file=$1
[[ -n $server ]] || usage

DNS_DIR=""          # no dns_setup here: dns_resolv_conf_run uses a temp file
DNS_ADDR=${server%%:*}
DNS_PORT=53
if [[ $server == *:* ]]; then
    DNS_PORT=${server#*:}
fi
if [[ $DNS_PORT != 53 ]]; then
    echo "dkim-verify-opendkim.sh: the DNS port must be 53 (opendkim uses /etc/resolv.conf), not $DNS_PORT" >&2
    exit 2
fi
if ! command -v opendkim-testmsg >/dev/null; then
    echo "dkim-verify-opendkim.sh: opendkim-testmsg not found (apt-get install opendkim-tools)" >&2
    exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dkim-verify-opendkim.XXXXXX") || exit 2
trap 'rm -rf -- "$tmp"' EXIT

if [[ $file == - ]]; then
    cat >"$tmp/message" || exit 2
elif ! cat -- "$file" >"$tmp/message"; then
    exit 2
fi

# run_testmsg MESSAGE-FILE: opendkim-testmsg in the namespace; its stderr
# (one line, the reason) is left in $tmp/err.
run_testmsg() {
    dns_resolv_conf_run opendkim-testmsg <"$1" >"$tmp/out" 2>"$tmp/err"
}

reason() {
    local r
    r=$(sed -e 's/^opendkim-testmsg: //' "$tmp/err" "$tmp/out" | tr '\n' ' ')
    r=${r% }
    printf '%s' "${r:-exit status $1}"
}

if (( whole )); then
    rc=0
    run_testmsg "$tmp/message" || rc=$?
    (( rc == 125 )) && { cat "$tmp/err" >&2; exit 125; }
    if (( rc == 0 )); then
        echo "opendkim-testmsg: pass (whole message)"
        exit 0
    fi
    echo "opendkim-testmsg: fail (whole message): $(reason "$rc")"
    exit 1
fi

# Split: for signature N (0-based) write $tmp/sig.N.eml (the message without
# the other DKIM-Signature fields) and $tmp/sig.N.info (line 1 "d=.. s=..
# a=..", line 2 the a= value, line 3 "1" if h= lists dkim-signature).
# Header fields are unfolded only to find their names; bytes are copied
# as they are (LF or CRLF line ends both work with opendkim-testmsg).
# shellcheck disable=SC2016
perl -e '
    use strict; use warnings;
    my ($in, $dir) = @ARGV;
    open(my $fh, "<:raw", $in) or die "dkim-verify-opendkim.sh: $in: $!\n";
    my $msg = do { local $/; <$fh> };
    my ($head, $sep, $body) = ($msg, "", "");    # no body: all header
    if ($msg =~ /\A(.*?\n)(\r?\n)(.*)\z/s) {
        ($head, $sep, $body) = ($1, $2, $3);
    }
    my @fields;                       # raw text of each header field
    for my $line (split /(?<=\n)/, $head) {
        if ($line =~ /^[ \t]/ && @fields) { $fields[-1] .= $line }
        else { push @fields, $line }
    }
    my @sig = grep { $fields[$_] =~ /^dkim-signature[ \t]*:/i } 0 .. $#fields;
    my $n = 0;
    for my $i (@sig) {
        my $value = $fields[$i];
        $value =~ s/^[^:]*://;
        $value =~ s/\r?\n[ \t]/ /g;
        my %t;
        for my $tv (split /;/, $value) {
            next unless $tv =~ /^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/s;
            my ($k, $v) = (lc $1, $2);
            $v =~ s/\s+//g;
            $t{$k} = $v;
        }
        my $h = lc($t{h} // "");
        my $self_signed = grep { $_ eq "dkim-signature" } split /:/, $h;
        open(my $out, ">:raw", "$dir/sig.$n.eml") or die "$dir: $!\n";
        my %drop = map { $_ => 1 } grep { $_ != $i } @sig;
        print $out map { $fields[$_] } grep { !$drop{$_} } 0 .. $#fields;
        print $out $sep, $body;
        close $out;
        open(my $info, ">", "$dir/sig.$n.info") or die "$dir: $!\n";
        printf $info "d=%s s=%s a=%s\n%s\n%d\n", $t{d} // "?", $t{s} // "?",
            $t{a} // "?", lc($t{a} // ""), $self_signed ? 1 : 0;
        close $info;
        $n++;
    }
' "$tmp/message" "$tmp" || exit 2

shopt -s nullglob
infos=("$tmp"/sig.*.info)
if (( ${#infos[@]} == 0 )); then
    echo "opendkim-testmsg: none: no DKIM-Signature"
    exit 1
fi

pass=0 bad=0
for (( n = 0; n < ${#infos[@]}; n++ )); do
    { read -r tags; read -r alg; read -r self_signed; } <"$tmp/sig.$n.info"
    case $alg in
        rsa-sha256 | rsa-sha1 | ed25519-sha256) ;;
        *)
            if (( allow_unsupported )); then
                echo "opendkim-testmsg: skip $tags: unsupported algorithm"
                continue
            fi
            ;;
    esac
    if [[ $self_signed == 1 ]]; then
        echo "dkim-verify-opendkim.sh: note: signature $n ($tags) signs DKIM-Signature fields; verified without the other signatures" >&2
    fi
    rc=0
    run_testmsg "$tmp/sig.$n.eml" || rc=$?
    if (( rc == 125 )); then
        cat "$tmp/err" >&2
        exit 125
    fi
    if (( rc == 0 )); then
        pass=$((pass + 1))
        echo "opendkim-testmsg: pass $tags"
    else
        bad=$((bad + 1))
        echo "opendkim-testmsg: fail $tags: $(reason "$rc")"
    fi
done
(( bad == 0 && pass > 0 ))
