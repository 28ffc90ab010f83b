#!/bin/bash
# http-limits.sh - the HTTP endpoint bounds what a hostile client can take
#
# mailward runs with its unsubscribe endpoint on 127.0.53.96 and
# unsubscribe.timeout = 2, max_connections = 4, max_connections_per_ip = 2;
# tests/e2e/http-probe.py plays the clients.  A body declared or sent over
# the 1 KB limit is answered 413 and the connection closed (a chunked
# body without end: closed after 64 KB); a
# header flood is refused and closed; a client that sends a header byte a
# second (slowloris), or nothing at all, is cut off after about 2 s; a
# third connection from one address and a fifth in all are refused; and
# through all that mailward's memory stays put and it still answers.
# About 10 s.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
. "$top/tests/lib/tap.sh"
. "$top/tests/e2e/postfix-lib.sh"

addr=${HTTP_ADDR:-127.0.53.96}
others=(${HTTP_OTHER_ADDRS:-127.0.53.97 127.0.53.98})
command -v curl >/dev/null || skip_all "curl not installed (run tools/deps)"
[ -x /usr/bin/python3 ] || skip_all "/usr/bin/python3 not installed"
probe() { /usr/bin/python3 "$top/tests/e2e/http-probe.py" "$@"; }

work=$(mktemp -d /tmp/mw-http-limits.XXXXXX)
mw_pid=
cleanup() {
	[ -n "$mw_pid" ] && kill -9 "$mw_pid" 2>/dev/null
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

plan 16

read -r mw_port http_port < <(pf_free_ports 2)
head -c 32 /dev/urandom >"$work/verp.key"
chmod 600 "$work/verp.key"
cat >"$work/mailward.conf" <<CONF
daemon = { socket = "inet:$mw_port@127.0.0.1"; user = ""; };
log = { to = "stderr"; level = "info"; };
inbound = { mode = "off"; };
unsubscribe = { url = "https://mail.example.com/u/"; listen = "$addr:$http_port";
  timeout = 2; max_connections = 4; max_connections_per_ip = 2; };
feedback = { verp_keys = ( { id = 1; file = "$work/verp.key"; } ); };
events = { spool_dir = "$work/spool"; };
store = { path = "$work/state.db"; };
CONF
"$mw" -f -c "$work/mailward.conf" 2>"$work/log" &
mw_pid=$!
check "the endpoint listens on $addr" wait_until 10 bash -c "ss -ltn | grep -q '$addr:$http_port '"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$mw_pid/status"; }
rss_before=$(rss)

# seconds_at_most LINE MAX: the probe's "seconds=S" is at most MAX
seconds_at_most() { awk -v max="$2" '{ sub(/.*seconds=/, ""); exit !($1 + 0 <= max) }' <<<"$1"; }
seconds_at_least() { awk -v min="$2" '{ sub(/.*seconds=/, ""); exit !($1 + 0 >= min) }' <<<"$1"; }

out=$(probe big-body "$addr" "$http_port")
check "a POST declaring a 10 MB body is answered 413 and closed ($out)" \
	bash -c "[[ '$out' == 'status=413 closed=yes'* ]]"
check "... at once, without reading the body" seconds_at_most "$out" 1

out=$(probe big-chunked "$addr" "$http_port")
check "a chunked body growing past 1 KB is answered 413 and closed ($out)" \
	bash -c "[[ '$out' == 'status=413 closed=yes'* ]]"
check "... at once" seconds_at_most "$out" 1

out=$(probe endless-chunked "$addr" "$http_port")
check "a chunked body without end is cut off after 64 KB, long before the timeout ($out)" \
	bash -c "[[ '$out' == *'closed=yes'* ]] && $(declare -f seconds_at_most); seconds_at_most '$out' 1"

out=$(probe big-header "$addr" "$http_port")
check "100 KB of header lines are refused (4xx) and the connection closed ($out)" \
	bash -c "[[ '$out' =~ ^status=4[0-9][0-9]\ closed=yes ]] || [[ '$out' == 'status=0 closed=yes'* ]]"

out=$(probe slowloris "$addr" "$http_port")
check "a client sending a header byte a second is cut off ($out)" \
	bash -c "[[ '$out' == *'closed=yes'* ]]"
check "... after the 2 s timeout, not before, not much after" \
	bash -c "$(declare -f seconds_at_most seconds_at_least); seconds_at_least '$out' 1.5 && seconds_at_most '$out' 4"
check "... and it is logged" grep -q 'http: a client took more than 2 s over a request; cut off' "$work/log"

out=$(probe idle "$addr" "$http_port")
check "a connection that sends nothing is closed after about 2 s ($out)" \
	bash -c "[[ '$out' == *'closed=yes'* ]] && $(declare -f seconds_at_most); seconds_at_most '$out' 4"

out=$(probe limits "$addr" "$http_port" "${others[0]}" "$addr" "${others[1]}")
check "per address at most 2 connections, in all at most 4 ($out)" test "$out" = "kept=2,2,0"

sleep 2.5 # the held connections time out
url=http://$addr:$http_port/u
check "the endpoint still answers: a malformed token is 400" \
	test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/bad!token")" = 400
check "... and a POST with a small body is read and answered (400: malformed token)" \
	test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --data-binary 'x=y' "$url/bad!token")" = 400
rss_after=$(rss)
check "mailward's memory stayed put (RSS ${rss_before} kB -> ${rss_after} kB, under +8 MB)" \
	test "$((rss_after - rss_before))" -lt 8192
check "mailward is still running" kill -0 "$mw_pid"

if [ "$TAP_FAILED" -gt 0 ]; then
	sed 's/^/# /' "$work/log" | tail -20
fi
done_testing
