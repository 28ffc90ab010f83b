#!/bin/bash
# deb.sh - the Debian package builds, installs on a clean root, runs, purges
#
# Builds mailward_*.deb with dpkg-buildpackage -us -uc -b from a copy of
# the tracked (and untracked, not ignored) files, so the tree is untouched.
# Then, in a private mount and PID namespace, it lays an overlay over / and
# chroots into it: the installation, the new user and the purge happen in
# the overlay's upper layer, which is thrown away; the host keeps its own
# mailward user, /etc and dpkg database.  There it removes any mailward
# user and directories (a fresh machine), installs the package with dpkg,
# checks the user, the files and their owners, "mailward -n" on the
# installed policy, then starts the daemon as mailward.service does
# (RuntimeDirectory, ExecStartPre, ExecStart) and checks that it runs as
# the mailward user with its socket and reloads the policy on SIGHUP, and
# finally purges the package.
# systemd is not PID 1 inside the chroot, so the unit's sandbox itself is
# not exercised here (systemd-analyze verify and security check it).
# Needs root, dpkg-dev, debhelper, unshare and overlayfs.
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
trap 'rm -rf "$work"' EXIT

plan 23

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

# shellcheck disable=SC2016
unshare --mount --pid --fork --propagation private -- /bin/bash -c '
	set -e
	work=$1 deb=$2
	root=$work/root
	mkdir -p "$work/layer" "$root"
	mount -t tmpfs tmpfs "$work/layer"
	mkdir "$work/layer/upper" "$work/layer/work"
	mount -t overlay overlay \
		-o "lowerdir=/,upperdir=$work/layer/upper,workdir=$work/layer/work" "$root"
	mount -t proc proc "$root/proc"
	mount --bind /dev "$root/dev"
	mount -t tmpfs tmpfs "$root/run"
	mount -t tmpfs tmpfs "$root/tmp"
	cat /etc/resolv.conf >"$root/etc/resolv.conf"
	mkdir "$root/tmp/pkg"
	cp "$deb" "$root/tmp/pkg/mailward.deb"
	cp "$work/inside.sh" "$root/tmp/pkg/"
	chroot "$root" /bin/bash /tmp/pkg/inside.sh
	cp "$root/tmp/pkg/daemon.log" "$work/" 2>/dev/null || true
' deb-root "$work" "${deb:-/nonexistent}" >"$work/inside.out" 2>"$work/inside.err"

while read -r verdict what; do
	case $verdict in
	PASS) pass "$what" ;;
	FAIL) fail "$what" ;;
	esac
done <"$work/inside.out"
if [ "$TAP_FAILED" -gt 0 ]; then
	sed 's/^/# /' "$work/inside.err" | tail -n 20
	[ -f "$work/daemon.log" ] && sed 's/^/# daemon: /' "$work/daemon.log" | tail -n 20
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
