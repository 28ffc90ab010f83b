#!/bin/bash
# deb.sh - the Debian package builds, installs on a clean root, runs, purges
#
# Builds mailward_*.deb with dpkg-buildpackage -us -uc -b from a copy of
# the tracked (and untracked, not ignored) files, so the tree is untouched.
# Each installation happens in a private mount and PID namespace, on an
# overlay over / whose upper layer is thrown away: the host keeps its own
# mailward user, /etc and dpkg database.  In both, any mailward user and
# directories are removed first (a fresh machine).
#  1. chroot: dpkg -i; the user, the files and their owners, "mailward -n"
#     on the installed policy; the daemon started as mailward.service does
#     (RuntimeDirectory, ExecStartPre, ExecStart) runs as mailward with its
#     socket, reloads the policy on SIGHUP and stops; dpkg --purge.
#  2. systemd (when systemd-nspawn is installed): the overlay boots with
#     systemd as PID 1 (private network); a probe unit checks that the
#     package's enabled mailward.service started, restarts, reloads and
#     stops under systemctl, as mailward, inside its sandbox, takes a
#     message (milter-client.py) and spools its event; and that
#     mailward-events.service runs once the policy names a webhook.
# Finally "systemd-analyze security" rates contrib's units.
# Needs root, dpkg-dev, debhelper, unshare and overlayfs (systemd-container
# for part 2).
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/lib/tap.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (overlay mount, chroot, dpkg)"
for c in dpkg-buildpackage dh unshare chroot git systemd-analyze; do
	command -v "$c" >/dev/null || skip_all "$c not installed (run tools/deps)"
done
[ -d "$top/debian" ] && git -C "$top" rev-parse --git-dir >/dev/null 2>&1 ||
	skip_all "not a git checkout with debian/"
grep -qw overlay /proc/filesystems || skip_all "no overlayfs"

work=$(mktemp -d /tmp/mw-deb.XXXXXX)
# DEB_SH_KEEP=1 keeps the work directory (build log, outputs) for a look.
trap '[ -n "${DEB_SH_KEEP:-}" ] || rm -rf "$work"' EXIT

plan 38

# ------------------------------------------------------------- build
mkdir "$work/src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	tar --null -T - -cf -) | tar -C "$work/src" -xf -
start=$(date +%s)
(cd "$work/src" && dpkg-buildpackage -us -uc -b -j2) >"$work/build.log" 2>&1
status=$?
diag "dpkg-buildpackage took $(($(date +%s) - start)) s"
check "dpkg-buildpackage -us -uc -b builds the package" test "$status" -eq 0
[ "$status" -eq 0 ] || tail -n 30 "$work/build.log" | sed 's/^/# /'
deb=$(ls "$work"/mailward_*_*.deb 2>/dev/null | head -1)
check "it made mailward_VERSION_ARCH.deb" test -f "$deb"
check "its own make check ran the unit tests, all passing" \
	grep -q '^# FAIL: *0$' "$work/build.log"

# -------------------------------------------- install on a clean root
# The checks inside print "PASS text" or "FAIL text"; they become TAP here.
cat >"$work/inside.sh" <<'INSIDE'
set -u
ok() {
	local what=$1
	shift
	if "$@" >&2; then echo "PASS $what"; else echo "FAIL $what"; fi
}
owner() { stat -c '%U:%G %a' "$1"; }
# A fresh machine: no mailward user, group or directories.
userdel mailward >/dev/null 2>&1
groupdel mailward >/dev/null 2>&1
rm -rf /etc/mailward /var/lib/mailward /var/spool/mailward /run/mailward

ok "dpkg -i installs it" dpkg -i /tmp/pkg/mailward.deb
ok "postinst created the system user mailward, home /var/lib/mailward" \
	sh -c 'getent passwd mailward | awk -F: "\$3 < 1000 && \$6 == \"/var/lib/mailward\" { f = 1 } END { exit !f }"'
ok "and its group" getent group mailward
ok "the daemon, the units and the manual pages are in place" \
	test -x /usr/sbin/mailward -a -f /lib/systemd/system/mailward.service \
	-a -f /lib/systemd/system/mailward-events.service \
	-a -f /usr/share/man/man8/mailward.8.gz -a -f /usr/share/man/man5/mailward.conf.5.gz \
	-a -f /usr/share/man/man8/mailward-keygen.8.gz
ok "/etc/mailward/mailward.conf is a conffile, root:mailward 640" \
	sh -c 'dpkg-query -W -f="\${Conffiles}" mailward | grep -q " /etc/mailward/mailward.conf " &&
		test "$(stat -c "%U:%G %a" /etc/mailward/mailward.conf)" = "root:mailward 640"'
ok "spool and state directories belong to mailward (750)" \
	test "$(owner /var/spool/mailward) $(owner /var/lib/mailward)" = \
	"mailward:mailward 750 mailward:mailward 750"
ok "mailward -n -c /etc/mailward/mailward.conf passes" \
	/usr/sbin/mailward -n -c /etc/mailward/mailward.conf
ok "mailward.service is enabled, mailward-events.service is not" \
	test -L /etc/systemd/system/multi-user.target.wants/mailward.service \
	-a ! -e /etc/systemd/system/multi-user.target.wants/mailward-events.service

# Start it as the unit does: RuntimeDirectory, ExecStartPre, ExecStart.
unit=/lib/systemd/system/mailward.service
install -d -m "$(sed -n 's/^RuntimeDirectoryMode=//p' $unit)" \
	"/run/$(sed -n 's/^RuntimeDirectory=//p' $unit)"
ok "the unit's ExecStartPre (the policy check) passes" $(sed -n 's/^ExecStartPre=//p' $unit)
$(sed -n 's/^ExecStart=//p' $unit) -e >/tmp/pkg/daemon.log 2>&1 &
pid=$!
for _ in $(seq 100); do
	[ -S /run/mailward/mailward.sock ] && break
	sleep 0.1
done
ok "the daemon listens on /run/mailward/mailward.sock" test -S /run/mailward/mailward.sock
ok "it runs as the mailward user" \
	test "$(awk '/^Uid:/ { print $2 }' /proc/$pid/status)" = "$(id -u mailward)"
ok "its socket is mailward's, mode 660" \
	test "$(owner /run/mailward/mailward.sock)" = "mailward:mailward 660"
ok "it made its spool and store where the directories are" \
	test -d /var/spool/mailward/events/new -a -f /var/lib/mailward/mailward.db
# SIGHUP rereads the policy as mailward: the conffile's group lets it.
kill -HUP "$pid"
for _ in $(seq 50); do
	grep -q 'reload: policy /etc/mailward/mailward.conf installed' /tmp/pkg/daemon.log && break
	sleep 0.1
done
ok "SIGHUP reloads the installed policy (readable by mailward)" \
	grep -q 'reload: policy /etc/mailward/mailward.conf installed' /tmp/pkg/daemon.log
kill -TERM "$pid"
wait "$pid"
ok "it stops cleanly on SIGTERM" test $? -eq 0

ok "dpkg --purge removes it" dpkg --purge mailward
ok "purge removed the daemon, /etc/mailward, the spool and the store" \
	test ! -e /usr/sbin/mailward -a ! -e /etc/mailward -a ! -e /var/spool/mailward \
	-a ! -e /var/lib/mailward
ok "and the unit's enablement" test ! -e /etc/systemd/system/multi-user.target.wants/mailward.service
INSIDE

# Under systemd: the container's PID 1 is systemd, booted by systemd-nspawn
# on an overlay where the package is installed; a probe unit runs the
# checks after mailward.service has started, then powers the container off.
cat >"$work/probe.sh" <<'PROBE'
#!/bin/bash
set -u
ok() {
	local what=$1
	shift
	if "$@" >&2; then echo "PASS $what"; else echo "FAIL $what"; fi
}
for _ in $(seq 100); do
	[ -S /run/mailward/mailward.sock ] && break
	sleep 0.1
done
ok "systemd started mailward.service at boot (enabled by the package)" systemctl is-active mailward
ok "systemctl restart mailward works" systemctl restart mailward
for _ in $(seq 100); do
	[ -S /run/mailward/mailward.sock ] && break
	sleep 0.1
done
pid=$(systemctl show -p MainPID --value mailward)
ok "under systemd it runs as the mailward user" \
	test "$(awk '/^Uid:/ { print $2 }' /proc/$pid/status)" = "$(id -u mailward)"
ok "in the unit's sandbox: no new privileges" grep -qE '^NoNewPrivs:[[:space:]]+1' /proc/$pid/status
ok "in the unit's sandbox: a system call filter" grep -qE '^Seccomp:[[:space:]]+2' /proc/$pid/status
ok "its socket is in place (mailward's, 660)" \
	test "$(stat -c '%U:%G %a' /run/mailward/mailward.sock)" = "mailward:mailward 660"
ok "it writes its spool and store through ProtectSystem=strict" \
	test -d /var/spool/mailward/events/new -a -f /var/lib/mailward/mailward.db
ok "systemctl reload mailward: the daemon reloads the policy" \
	sh -c 'systemctl reload mailward && sleep 1 &&
		journalctl -u mailward --no-pager | grep -q "reload: policy /etc/mailward/mailward.conf installed"'
ok "mailward-events.service is installed but not enabled" \
	test "$(systemctl is-enabled mailward-events)" = disabled
# One outbound message through the sandboxed daemon, on the container's
# own loopback: accepted, its Send event made durable in the spool.
sed -i 's|^  socket = "unix:/run/mailward/mailward.sock";|  socket = "inet:8891@127.0.0.1";|' \
	/etc/mailward/mailward.conf
systemctl restart mailward
for _ in $(seq 100); do
	(exec 3<>/dev/tcp/127.0.0.1/8891) 2>/dev/null && break
	sleep 0.1
done
printf 'From: alice@example.com\r\nTo: bob@example.org\r\nSubject: probe\r\n\r\nhello\r\n' >/root/m.eml
ok "a message through the sandboxed daemon is accepted, its Send event spooled" \
	sh -c '/usr/bin/python3 /root/milter-client.py 127.0.0.1:8891 --message /root/m.eml |
		grep -qx "verdict accept" &&
		grep -l "\"eventType\": *\"Send\"" /var/spool/mailward/events/new/* | grep -q .'
ok "systemctl stop mailward: it stops cleanly" \
	sh -c 'systemctl stop mailward && test "$(systemctl show -p Result --value mailward)" = success'

# The dispatcher: a policy without webhooks is an error not worth retrying;
# with one (to a closed loopback port) it runs, sandboxed, as mailward.
systemctl start mailward-events
sleep 1
ok "mailward-events without webhooks exits 78 and is not restarted" \
	test "$(systemctl show -p ExecMainStatus --value mailward-events) $(systemctl show -p NRestarts --value mailward-events)" = "78 0"
openssl genrsa -out /etc/mailward/keys/sns.pem 2048 2>/dev/null
chown mailward:mailward /etc/mailward/keys/sns.pem
chmod 600 /etc/mailward/keys/sns.pem
sed -i 's|^webhooks = ( );|webhooks = ( { name = "probe"; url = "http://127.0.0.1:9/"; topic_arn = "arn:aws:sns:local:000000000000:probe"; signing_key = "/etc/mailward/keys/sns.pem"; signing_cert_url = "https://example.com/sns.pem"; } );|' \
	/etc/mailward/mailward.conf
systemctl start mailward-events
sleep 2
pid=$(systemctl show -p MainPID --value mailward-events)
ok "with a webhook, mailward-events.service runs as mailward" \
	sh -c "systemctl is-active mailward-events &&
		test \"\$(awk '/^Uid:/ { print \$2 }' /proc/$pid/status)\" = $(id -u mailward)"
journalctl -u mailward-events --no-pager >&2
journalctl -u mailward --no-pager >&2
PROBE

cp "$top/tests/lib/milter-client.py" "$work/"
# Runs in a mount namespace of its own; $1 = chroot or boot.
cat >"$work/overlay.sh" <<'OVERLAY'
set -e
mode=$1 work=$2 deb=$3
root=$work/root-$mode
mkdir -p "$work/layer-$mode" "$root"
mount -t tmpfs tmpfs "$work/layer-$mode"
mkdir "$work/layer-$mode/upper" "$work/layer-$mode/work"
mount -t overlay overlay \
	-o "lowerdir=/,upperdir=$work/layer-$mode/upper,workdir=$work/layer-$mode/work" "$root"
cat /etc/resolv.conf >"$root/etc/resolv.conf"
mkdir -p "$root/tmp/pkg"
cp "$deb" "$root/tmp/pkg/mailward.deb"
cp "$work/inside.sh" "$root/tmp/pkg/"
cp "$work/probe.sh" "$root/root/mailward-probe.sh" # nspawn mounts a tmpfs on /tmp
cp "$work/milter-client.py" "$root/root/"
if [ "$mode" = chroot ]; then
	mount -t proc proc "$root/proc"
	mount --bind /dev "$root/dev"
	mount -t tmpfs tmpfs "$root/run"
	chroot "$root" /bin/bash /tmp/pkg/inside.sh
	cp "$root/tmp/pkg/daemon.log" "$work/" 2>/dev/null || true
	exit 0
fi
chroot "$root" /bin/sh -c 'userdel mailward; groupdel mailward
	rm -rf /etc/mailward /var/lib/mailward /var/spool/mailward
	dpkg -i /tmp/pkg/mailward.deb' >&2 2>&1
unit=$root/etc/systemd/system/mailward-probe.service
cat >"$unit" <<'UNIT'
[Unit]
After=mailward.service
[Service]
Type=oneshot
ExecStart=/bin/bash -c '/bin/bash /root/mailward-probe.sh >/root/probe.out 2>/root/probe.err; systemctl poweroff'
[Install]
WantedBy=multi-user.target
UNIT
ln -s "$unit" "$root/etc/systemd/system/multi-user.target.wants/"
# Without systemd on the host, nspawn can neither register nor make a scope.
flags=(--private-network)
[ -d /run/systemd/system ] || flags+=(--register=no --keep-unit)
timeout 120 systemd-nspawn -q -D "$root" "${flags[@]}" -b </dev/null >"$work/boot.log" 2>&1 || true
cat "$root/root/probe.out"
cat "$root/root/probe.err" >&2
OVERLAY

tap_lines() {
	while read -r verdict what; do
		case $verdict in
		PASS) pass "$what" ;;
		FAIL) fail "$what" ;;
		esac
	done
}

failed=$TAP_FAILED
unshare --mount --pid --fork --propagation private -- /bin/bash "$work/overlay.sh" \
	chroot "$work" "${deb:-/nonexistent}" >"$work/inside.out" 2>"$work/inside.err"
tap_lines <"$work/inside.out"
if [ "$TAP_FAILED" -gt "$failed" ]; then
	tail -n 20 "$work/inside.err" | sed 's/^/# /'
	[ -f "$work/daemon.log" ] && tail -n 20 "$work/daemon.log" | sed 's/^/# daemon: /'
fi
check "the chroot ran every check" test "$(grep -c '^[PF]A[SI][SL]' "$work/inside.out")" -eq 18

failed=$TAP_FAILED
if command -v systemd-nspawn >/dev/null; then
	had_nspawn_dir=$([ -e /run/systemd/nspawn ] && echo yes)
	# No PID namespace here: nspawn finds its child's namespaces in /proc.
	unshare --mount --propagation private -- /bin/bash "$work/overlay.sh" \
		boot "$work" "${deb:-/nonexistent}" >"$work/boot.out" 2>"$work/boot.err"
	# nspawn leaves its propagation directory on the host's /run.
	[ -n "$had_nspawn_dir" ] || rm -rf /run/systemd/nspawn
	tap_lines <"$work/boot.out"
	check "systemd ran every check" test "$(grep -c '^[PF]A[SI][SL]' "$work/boot.out")" -eq 13
	grep -E 'mailward(-events)?\[[0-9]+\]: .*(serving on|reload: policy|stopping|dispatcher started)' \
		"$work/boot.err" | sed 's/^/# journal: /'
	if [ "$TAP_FAILED" -gt "$failed" ]; then
		tail -n 30 "$work/boot.err" | sed 's/^/# /'
		tail -n 10 "$work/boot.log" | sed 's/^/# boot: /'
	fi
else
	for _ in $(seq 14); do
		pass "# SKIP systemd-nspawn not installed (systemd-container): no boot under systemd"
	done
fi

# ------------------------------------------------------------ the units
for unit in mailward mailward-events; do
	out=$(systemd-analyze security --offline=yes "$top/contrib/$unit.service" 2>&1 | tail -1)
	score=$(printf '%s\n' "$out" | sed -n 's/.*: \([0-9.]*\) .*/\1/p')
	diag "systemd-analyze security $unit.service: $score"
	check "$unit.service is sandboxed (systemd-analyze security exposure below 3.0)" \
		awk -v s="${score:-10}" 'BEGIN { exit !(s < 3.0) }'
done
done_testing
