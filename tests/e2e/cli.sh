#!/bin/bash
# cli.sh - the mailward command line and daemon life cycle
#
# Options, the policy check (-n) and its file:line errors, the sample
# policy kept equal to --dump-defaults, and the daemon: unix socket owner
# and mode, privilege drop, pid file lock, detaching, IPv6, SIGHUP storms,
# a broken policy on SIGHUP, clean SIGTERM.  Needs root for the user
# switch (CI runs as root).
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
mw=${MAILWARD:-$top/mailward}
. "$top/tests/lib/tap.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (user switch, socket ownership)"
getent passwd mailward >/dev/null || skip_all "no mailward user (run tools/deps)"

work=$(mktemp -d /tmp/mw-cli.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

plan 34

# ------------------------------------------------------------- options
out=$("$mw" --help 2>&1)
check "--help exits 0" test $? -eq 0
case $out in
*"-n, --check"*"--dump-defaults"*"SIGHUP"*"smtpd_milters"*) pass "--help documents options, signals and the Postfix lines" ;;
*) fail "--help documents options, signals and the Postfix lines" ;;
esac
out=$("$mw" --version)
check "--version prints the version" test "$out" = "mailward 0.1.0"
"$mw" --no-such-option >/dev/null 2>&1
check "an unknown option exits 64 (EX_USAGE)" test $? -eq 64
"$mw" extra-argument >/dev/null 2>&1
check "a stray argument exits 64" test $? -eq 64

# -------------------------------------------------------- policy check
out=$("$mw" -n -c "$top/contrib/mailward.conf" 2>&1)
check "mailward -n -c contrib/mailward.conf exits 0" test $? -eq 0
"$mw" --dump-defaults >"$work/defaults.conf"
check "contrib/mailward.conf is exactly --dump-defaults" cmp -s "$work/defaults.conf" "$top/contrib/mailward.conf"

cat >"$work/bad.conf" <<'CONF'
# three problems, each on its own line
daemon = {
  colour = "blue";
  timeout = "soon";
  listen_backlog = 70000;
};
CONF
out=$("$mw" -n -c "$work/bad.conf" 2>&1)
status=$?
check "a policy with problems exits 78 (EX_CONFIG)" test $status -eq 78
for want in "$work/bad.conf:3: daemon.colour: unknown setting" \
	"$work/bad.conf:4: daemon.timeout: expected an integer, not a string" \
	"$work/bad.conf:5: daemon.listen_backlog: 70000 is out of range (1 to 65535)"; do
	case $out in
	*"$want"*) pass "names ${want#"$work/"}" ;;
	*) fail "names ${want#"$work/"}" "got: $out" ;;
	esac
done
case $out in
*"3 problems, policy refused"*) pass "counts the problems" ;;
*) fail "counts the problems" "got: $out" ;;
esac
out=$("$mw" -n -c "$work/missing.conf" 2>&1)
status=$?
case "$status:$out" in
"78:$work/missing.conf: cannot read: No such file or directory"*) pass "a missing policy file is named with the reason" ;;
*) fail "a missing policy file is named with the reason" "got $status: $out" ;;
esac

# -------------------------------------------------------------- daemon
mkdir -p "$work/run" "$work/spool"
chown mailward:mailward "$work/run"
write_policy() {
	cat >"$work/mailward.conf" <<CONF
daemon = {
  socket = "unix:$work/run/mailward.sock";
  user = "mailward";
  socket_group = "mailward";
  socket_mode = "0660";
  pid_file = "$work/run/mailward.pid";
};
log = { to = "stderr"; level = "$1"; };
events = { spool_dir = "$work/spool/events"; };
store = { path = "$work/state/mailward.db"; };
inbound = { mode = "off"; };
CONF
}
write_policy info
"$mw" -f -c "$work/mailward.conf" 2>"$work/daemon.log" &
pid=$!
pids+=("$pid")
check "the daemon creates its unix socket" wait_until 10 test -S "$work/run/mailward.sock"
sock_stat=$(stat -c '%U:%G %a' "$work/run/mailward.sock" 2>/dev/null)
check "the socket is mailward:mailward mode 660" test "$sock_stat" = "mailward:mailward 660"
# The socket exists before root is dropped: wait for the drop, bounded.
uid_is() { [ "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" = "$1" ]; }
check "the daemon dropped root for the mailward user" wait_until 10 uid_is "$(id -u mailward)"
check "the pid file holds the daemon's pid" test "$(cat "$work/run/mailward.pid" 2>/dev/null)" = "$pid"
check "the spool directories exist, owned by mailward" \
	test "$(stat -c %U "$work/spool/events/new" 2>/dev/null)" = mailward
out=$("$mw" -f -c "$work/mailward.conf" -p "unix:$work/run/other.sock" 2>&1)
status=$?
case "$status:$out" in
73:*"is locked by a running mailward (pid $pid)"*) pass "a second instance on the same pid file refuses to start" ;;
*) fail "a second instance on the same pid file refuses to start" "got $status: $out" ;;
esac

for _ in $(seq 50); do kill -HUP "$pid"; done
check "50 SIGHUPs in a row leave the daemon running" wait_until 5 grep -q "reload: policy .* installed" "$work/daemon.log"
sleep 0.5
check "... still alive after the storm" kill -0 "$pid"

write_policy loud
kill -HUP "$pid"
check "a broken policy on SIGHUP is refused with its file:line" \
	wait_until 5 grep -q "reload: $work/mailward.conf:8: log.level: \"loud\" is not one of" "$work/daemon.log"
check "... and the running policy stays" wait_until 5 grep -q "refused; the running policy stays" "$work/daemon.log"
check "... and the daemon keeps running" kill -0 "$pid"

write_policy debug
kill -HUP "$pid"
installs_at_least() { [ "$(grep -c 'reload: policy .* installed' "$work/daemon.log")" -ge "$1" ]; }
check "a fixed policy is installed on the next SIGHUP" wait_until 5 installs_at_least 2

kill -TERM "$pid"
check "SIGTERM stops the daemon within 10 s" wait_until 10 bash -c "! kill -0 $pid 2>/dev/null"
wait "$pid"
check "... with exit status 0" test $? -eq 0
check "... logging a clean stop" grep -q "mailward stopping (clean)" "$work/daemon.log"
check "... and removing the pid file" test ! -e "$work/run/mailward.pid"

# --------------------------------------------------- detach, IPv6, user
port=$((20000 + RANDOM % 20000))
"$mw" -c "$work/mailward.conf" -p "inet6:$port@::1" -P "$work/run/detached.pid" -e 2>/dev/null
check "without -f the command returns at once (detached)" test $? -eq 0
check "the detached daemon wrote its pid file" wait_until 5 test -s "$work/run/detached.pid"
dpid=$(cat "$work/run/detached.pid" 2>/dev/null)
pids+=("$dpid")
check "the detached daemon listens on inet6 [::1]:$port" \
	wait_until 5 bash -c "ss -ltn | grep -q '\[::1\]:$port '"
kill -TERM "$dpid" 2>/dev/null
check "the detached daemon stops on SIGTERM" wait_until 10 bash -c "! kill -0 $dpid 2>/dev/null"

out=$("$mw" -f -c "$work/mailward.conf" -u no-such-user-mw 2>&1)
status=$?
case "$status:$out" in
67:*'user "no-such-user-mw" does not exist'*) pass "an unknown user is a clear start-up error (exit 67)" ;;
*) fail "an unknown user is a clear start-up error (exit 67)" "got $status: $out" ;;
esac

done_testing
