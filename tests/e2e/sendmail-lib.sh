# shellcheck shell=bash
# sendmail-lib.sh - run a private, throw-away Sendmail (Debian's sendmail-bin,
# unpacked, never installed) with mailward as its milter, relaying
# everything to an SMTP sink, for end-to-end tests.
#
#     . "$top/tests/lib/tap.sh"
#     . "$top/tests/lib/dns-lib.sh"      # the resolver Sendmail is given
#     . "$top/tests/e2e/postfix-lib.sh"  # the sink and send_mail
#     . "$top/tests/e2e/sendmail-lib.sh"
#     sm_fetch || ...                    # the .debs, downloaded once
#     SM_MILTER=inet:8891@127.0.53.80 sm_setup "$work/sm"
#     sink_start && sm_start
#     sm_send 127.0.53.80 "$SM_PORT" a@example.com b@example.net
#     sink_wait_count 1 30
#
# Why unpacked: sendmail-bin conflicts with postfix (both provide
# mail-transport-agent), and the tests need both.  "apt-get download"
# fetches sendmail-bin, sendmail-base and sendmail-cf into SM_CACHE
# (default /var/cache/mailward-test/sendmail; re-used when the three are
# there; a failed download is tried again after "apt-get update"), and each
# test unpacks them with "dpkg -x" into its own work directory, so the
# binary's path names one instance (used to find its processes).  Sendmail's shared libraries (libwrap0, liblockfile1, ...) and
# m4 come from tools/deps; sm_setup says which are missing.
#
# The instance (_sm_write_mc):
# * OSTYPE(linux), $j = mx.test.example; every file it writes is in the work
#   directory (queue, pid file, statistics); it runs as root, in the
#   foreground (-bD, queue run every 5 s), logging to syslog (there is
#   none here: what it did is read from SMTP replies and its queue).
# * Two listeners on SM_ADDR (127.0.53.80): SM_PORT with Name=MTA and
#   SM_SUBMISSION_PORT with Name=ORIGINATING; the name is what milters get
#   as {daemon_name}.  Both offer AUTH PLAIN LOGIN (Cyrus SASL, a sasldb of
#   the instance's own: sm_sasl_user) over plain TCP - never outside a
#   loopback test - and authenticated clients may relay (TRUST_AUTH_MECH).
# * Everything goes to the smart host [SINK_ADDR] (127.0.53.81, brackets: no
#   MX lookup) on SINK_PORT, through the relay and esmtp mailers' "TCP $h
#   PORT" arguments, from SM_ADDR (CLIENT_OPTIONS).  Clients in 127.0.53/24
#   may relay (RELAY_DOMAIN); accept_unresolvable_domains, nocanonify.
# * No DNS: a service switch file saying "hosts files" and a hosts file of
#   its own; DontProbeInterfaces; no ident lookups.  And, since libc's
#   gethostbyname/gethostbyaddr still read /etc/resolv.conf, Sendmail runs
#   under dns_resolv_conf_run: its resolver is the test's NSD (DNS_ADDR).
# * contrib/sendmail.mc's lines: its INPUT_MAIL_FILTER with S=SM_MILTER and
#   F=SM_MILTER_FLAGS (default T: tempfail while the milter is unreachable),
#   and the macros mailward reads, per stage.
#
# Surprises (Debian 12, Sendmail 8.17.1.9):
# * Sendmail looks its own host name up at start (libc, before reading
#   $j from the .cf), and when that fails it logs "My unqualified host name
#   unknown; sleeping for retry" and sleeps 60 s.  The machine's name was
#   only in /etc/hosts as IPv4 and Sendmail asks for IPv6 first, which went
#   to the system resolver.  So sm_start runs it in a UTS namespace named
#   mx.test.example with its own /etc/hosts (IPv4 and ::1) bind-mounted, on
#   top of dns_resolv_conf_run's mount namespace.
# * The binary needs libwrap0 (TCP wrappers), not otherwise installed.
# * The cf's m4 warns on stderr for FEATURE(promiscuous_relay); RELAY_DOMAIN
#   with an address prefix does the same for the test clients, silently.
# * Cyrus SASL gets no configuration path from Sendmail: it reads the
#   default /etc/sasldb2, over which sm_start mounts the instance's own.

# Functions (each returns non-zero and says why on stderr, "sendmail-lib:"):
#   sm_fetch             make sure the three .debs are in SM_CACHE
#   sm_setup WORKDIR     pf_setup WORKDIR/pf (sink, send_mail; that Postfix
#                        is never started), unpack Sendmail, pick ports,
#                        write .mc and .cf.  Sets SM_WORK, SM_BIN, SM_CF,
#                        SM_QUEUE, SM_PORT, SM_SUBMISSION_PORT, SM_ADDR, and
#                        SINK_ADDR for postfix-lib's sink
#   sm_milter SOCKET [FLAGS]
#                        rewrite the .cf with another milter socket or
#                        flags; restarts Sendmail if it runs
#   sm_start / sm_stop   start (wait up to 30 s for both listeners) / stop
#                        (TERM, then KILL every process of this instance)
#   sm_running, sm_pid   the daemon lives / its pid
#   sm_sasl_user LOGIN PASSWORD
#                        add a SASL user; LOGIN is USER@REALM as the client
#                        sends it (it reaches milters as {auth_authen})
#   sm_send CLIENT PORT FROM TO [SWAKS_ARGS...]
#                        send_mail to SM_ADDR:PORT; the transcript is SEND_LOG
#   sm_last_qid          the queue ID in the last reply to DATA ("250 2.0.0
#                        ID Message accepted for delivery")
#   sm_last_reply        that reply's code and enhanced code ("550 5.7.1"),
#                        or the first error's when DATA was never ended
#   sm_queue_ids         IDs of the messages in Sendmail's queue
#   sm_quarantine_reason QID
#                        the reason a quarantined message is held for
#   sm_diag              the .mc, the queue and Sendmail's stderr as TAP
#                        comments
#   sm_cleanup           stop everything (and pf_cleanup); for trap ... EXIT

SM_CACHE=${SM_CACHE:-/var/cache/mailward-test/sendmail}
SM_PACKAGES=(sendmail-bin sendmail-base sendmail-cf)
SM_CONTRIB_MC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../contrib" && pwd)/sendmail.mc

if ! declare -F dns_resolv_conf_run >/dev/null; then
	# shellcheck source=../lib/dns-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/../lib/dns-lib.sh"
fi
if ! declare -F sink_start >/dev/null; then
	# shellcheck source=postfix-lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/postfix-lib.sh"
fi

_sm_err() { printf 'sendmail-lib: %s\n' "$*" >&2; }

# _sm_cached: the three .debs, one line each, when all are in the cache.
_sm_cached() {
	local p f
	for p in "${SM_PACKAGES[@]}"; do
		f=$(find "$SM_CACHE" -maxdepth 1 -name "${p}_*.deb" 2>/dev/null | sort -V | tail -1)
		[[ -n $f ]] || return 1
		printf '%s\n' "$f"
	done
}

sm_fetch() {
	_sm_cached >/dev/null && return 0
	local tmp rc=0
	mkdir -p "$SM_CACHE" || return 1
	tmp=$(mktemp -d "$SM_CACHE/download.XXXXXX") || return 1
	# apt drops to user _apt to download; let it write here.
	getent passwd _apt >/dev/null && chown _apt "$tmp"
	(cd "$tmp" && timeout 120 apt-get download -q "${SM_PACKAGES[@]}") \
		>"$tmp.log" 2>&1 || rc=$?
	if ((rc != 0)); then
		# Stale package lists name a version the mirror no longer has.
		rc=0
		{ timeout 300 apt-get update -qq &&
			(cd "$tmp" && timeout 120 apt-get download -q "${SM_PACKAGES[@]}"); } \
			>>"$tmp.log" 2>&1 || rc=$?
	fi
	if ((rc == 0)); then
		mv -f "$tmp"/*.deb "$SM_CACHE"/ || rc=1
	fi
	rm -rf -- "$tmp"
	if ((rc != 0)) || ! _sm_cached >/dev/null; then
		_sm_err "apt-get download ${SM_PACKAGES[*]} failed (status $rc):"
		sed 's/^/sendmail-lib:   /' "$tmp.log" >&2
		rm -f -- "$tmp.log"
		return 1
	fi
	rm -f -- "$tmp.log"
}

# _sm_unpack: the cached packages into SM_WORK/root; Sendmail's libraries.
_sm_unpack() {
	local deb missing
	while IFS= read -r deb; do
		dpkg -x "$deb" "$SM_WORK/root" || return 1
	done < <(_sm_cached)
	SM_BIN=$SM_WORK/root/usr/libexec/sendmail/sendmail
	SM_CF_DIR=$SM_WORK/root/usr/share/sendmail/cf
	if [[ ! -x $SM_BIN || ! -f $SM_CF_DIR/m4/cf.m4 ]]; then
		_sm_err "the packages in $SM_CACHE do not hold $SM_BIN and cf/m4/cf.m4"
		return 1
	fi
	# The binary is set-gid mail: it need not be, running as root.
	chmod g-s "$SM_BIN"
	missing=$(ldd "$SM_BIN" 2>&1 | awk '/not found/ { print $1 }' | tr '\n' ' ')
	if [[ -n $missing ]]; then
		_sm_err "Sendmail's libraries are missing: $missing(run tools/deps)"
		return 1
	fi
}

sm_setup() {
	local work=${1:?sm_setup WORKDIR} ports
	if ! command -v m4 >/dev/null; then
		_sm_err "m4 not found (run tools/deps)"
		return 1
	fi
	_sm_cached >/dev/null || {
		_sm_err "no Sendmail packages in $SM_CACHE: call sm_fetch first"
		return 1
	}
	SM_ADDR=${SM_ADDR:-127.0.53.80}
	SINK_ADDR=${SINK_ADDR:-127.0.53.81}
	pf_setup "$work/pf" >/dev/null || return 1
	SM_WORK=$(cd "$work" && pwd -P) || return 1
	SM_QUEUE=$SM_WORK/mqueue
	SM_ERR=$SM_WORK/sendmail.err
	mkdir -p "$SM_WORK/root" "$SM_WORK/etc" "$SM_WORK/run" "$SM_QUEUE" || return 1
	# Sendmail refuses a queue or configuration others may write to.
	chmod 755 "$SM_WORK" "$SM_WORK/etc" "$SM_WORK/run" && chmod 700 "$SM_QUEUE" || return 1
	: >"$SM_WORK/.sendmail-lib-workdir"
	: >"$SM_ERR"
	_sm_unpack || return 1
	ports=$(pf_free_ports 2) || return 1
	read -r SM_PORT SM_SUBMISSION_PORT <<<"$ports"
	SM_MILTER=${SM_MILTER:-}
	SM_MILTER_FLAGS=${SM_MILTER_FLAGS:-T}
	printf 'hosts\tfiles\naliases\tfiles\n' >"$SM_WORK/etc/service.switch"
	printf '127.0.0.1\tlocalhost\n%s\tmx.test.example mx\n::1\tlocalhost mx.test.example mx\n' \
		"$SM_ADDR" >"$SM_WORK/etc/hosts"
	chmod 644 "$SM_WORK/etc/hosts"
	_sm_sasl_db || return 1
	_sm_make_cf || return 1
	export SM_WORK SM_PORT SM_SUBMISSION_PORT SM_ADDR SINK_ADDR
}

# _sm_sasl_db: an empty sasldb of this instance's own.  Cyrus SASL reads
# /etc/sasldb2 by default (Sendmail names no other): sm_start mounts this
# file there, inside Sendmail's mount namespace only.
_sm_sasl_db() {
	SM_SASL_DB=$SM_WORK/etc/sasldb2
	_sm_saslpasswd x -c -u sendmail-lib.invalid placeholder &&
		_sm_saslpasswd '' -d -u sendmail-lib.invalid placeholder
}

_sm_saslpasswd() {
	local password=$1
	shift
	if ! printf '%s\n' "$password" | saslpasswd2 -f "$SM_SASL_DB" -p "$@" 2>"$SM_WORK/saslpasswd.err"; then
		_sm_err "saslpasswd2 $* failed: $(cat "$SM_WORK/saslpasswd.err")"
		return 1
	fi
	chmod 600 "$SM_SASL_DB"
}

# sm_sasl_user LOGIN PASSWORD: LOGIN is USER@REALM, as the client sends it.
sm_sasl_user() {
	local login=${1:?sm_sasl_user LOGIN PASSWORD} password=${2?sm_sasl_user LOGIN PASSWORD}
	_sm_saslpasswd "$password" -c -u "${login##*@}" "${login%@*}"
}

# _sm_milter_lines: contrib/sendmail.mc's lines, the ones an administrator
# adds, so the test proves them: its INPUT_MAIL_FILTER with this instance's
# socket and flags, and its macro lists.
_sm_milter_lines() {
	[[ -n $SM_MILTER ]] || return 0
	sed -n "/^INPUT_MAIL_FILTER(/{s|S=[^,]*,|S=$SM_MILTER,|; s|F=[A-Z]*,|F=$SM_MILTER_FLAGS,|; p; q}" \
		"$SM_CONTRIB_MC"
	grep '^define(`confMILTER_MACROS_' "$SM_CONTRIB_MC"
}

_sm_write_mc() {
	local w=$SM_WORK
	cat <<EOF
divert(-1)
# Generated by tests/e2e/sendmail-lib.sh - private test instance.
divert(0)dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mx.test.example')dnl
define(\`confSERVICE_SWITCH_FILE', \`$w/etc/service.switch')dnl
define(\`confHOSTS_FILE', \`$w/etc/hosts')dnl
define(\`QUEUE_DIR', \`$SM_QUEUE')dnl
define(\`confPID_FILE', \`$w/run/sendmail.pid')dnl
define(\`STATUS_FILE', \`$w/run/sendmail.st')dnl
define(\`confHELP_FILE', \`$w/root/etc/mail/helpfile')dnl
define(\`confDEAD_LETTER_DROP', \`$w/run/dead.letter')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`confDEF_USER_ID', \`mail:mail')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`confTO_CONNECT', \`5s')dnl
define(\`confDELIVERY_MODE', \`background')dnl
define(\`confMIN_QUEUE_AGE', \`0s')dnl
define(\`confTO_QUEUEWARN', \`1d')dnl
define(\`confPRIVACY_FLAGS', \`goaway')dnl
define(\`SMART_HOST', \`[$SINK_ADDR]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SINK_PORT')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $SINK_PORT')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`nocanonify')dnl
RELAY_DOMAIN(\`127.0.53')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`accept_unqualified_senders')dnl
CLIENT_OPTIONS(\`Family=inet, Addr=$SM_ADDR')dnl
define(\`confAUTH_MECHANISMS', \`PLAIN LOGIN')dnl
TRUST_AUTH_MECH(\`PLAIN LOGIN')dnl
DAEMON_OPTIONS(\`Family=inet, Addr=$SM_ADDR, Port=$SM_PORT, Name=MTA')dnl
DAEMON_OPTIONS(\`Family=inet, Addr=$SM_ADDR, Port=$SM_SUBMISSION_PORT, Name=ORIGINATING')dnl
$(_sm_milter_lines)
MAILER(\`local')dnl
MAILER(\`smtp')dnl
EOF
}

_sm_make_cf() {
	SM_MC=$SM_WORK/etc/sendmail.mc
	SM_CF=$SM_WORK/etc/sendmail.cf
	_sm_write_mc >"$SM_MC" || return 1
	if ! m4 -D_CF_DIR_="$SM_CF_DIR/" "$SM_CF_DIR/m4/cf.m4" "$SM_MC" >"$SM_CF" 2>"$SM_WORK/m4.err" ||
		[[ -s $SM_WORK/m4.err ]]; then
		_sm_err "m4 could not make $SM_CF from $SM_MC:"
		sed 's/^/sendmail-lib:   /' "$SM_WORK/m4.err" >&2
		return 1
	fi
	chmod 644 "$SM_CF"
}

sm_milter() {
	SM_MILTER=${1:?sm_milter SOCKET [FLAGS]}
	SM_MILTER_FLAGS=${2:-T}
	_sm_make_cf || return 1
	if sm_running; then
		sm_stop && sm_start
	fi
}

sm_pid() {
	local pid=
	[[ -n ${SM_WORK:-} && -r $SM_WORK/run/sendmail.pid ]] || return 1
	read -r pid <"$SM_WORK/run/sendmail.pid" 2>/dev/null || return 1
	[[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid" || return 1
	[[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$SM_BIN" ]] || return 1
	printf '%s\n' "$pid"
}

sm_running() { sm_pid >/dev/null; }

_sm_listening() {
	[[ -n $(ss -Hltn src "$1:$2" 2>/dev/null) ]]
}

_sm_ready() {
	sm_running && _sm_listening "$SM_ADDR" "$SM_PORT" &&
		_sm_listening "$SM_ADDR" "$SM_SUBMISSION_PORT"
}

sm_start() {
	sm_running && return 0
	rm -f "$SM_WORK/run/sendmail.pid"
	# -bD: daemon in the foreground; -q5s: retry the queue every 5 s.
	# Inside: the resolver is the test's NSD, and a UTS namespace and hosts
	# file of its own give it a host name it can find without DNS (see
	# "surprises" above).
	# shellcheck disable=SC2016
	dns_resolv_conf_run unshare --uts --mount --propagation private -- /bin/sh -c '
		hosts=$1 sasldb=$2; shift 2
		hostname mx.test.example && mount --bind -- "$hosts" /etc/hosts &&
			mount --bind -- "$sasldb" /etc/sasldb2 && exec "$@"' \
		sm-ns "$SM_WORK/etc/hosts" "$SM_SASL_DB" "$SM_BIN" -bD -q5s -C "$SM_CF" -L sm-mailward-test \
		</dev/null >>"$SM_ERR" 2>&1 &
	SM_JOB=$!
	if ! wait_until 30 _sm_ready; then
		_sm_err "Sendmail did not come up on $SM_ADDR:$SM_PORT and :$SM_SUBMISSION_PORT"
		sed 's/^/sendmail-lib:   /' "$SM_ERR" >&2
		sm_stop
		return 1
	fi
}

# _sm_instance_pids: every process running this instance's binary.
_sm_instance_pids() {
	local f p
	[[ -n ${SM_BIN:-} ]] || return 0
	for f in /proc/[0-9]*/exe; do
		[[ $(readlink "$f" 2>/dev/null) == "$SM_BIN" ]] || continue
		p=${f#/proc/}
		printf '%s\n' "${p%/exe}"
	done
}

_sm_gone() { [[ -z $(_sm_instance_pids) ]]; }

sm_stop() {
	local pid pids
	if pid=$(sm_pid); then
		kill -TERM "$pid" 2>/dev/null
		wait_until 15 _pf_pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
	fi
	# Connection and delivery children outlive the daemon: end them too.
	mapfile -t pids < <(_sm_instance_pids)
	if ((${#pids[@]} > 0)); then
		kill -TERM "${pids[@]}" 2>/dev/null
		if ! wait_until 5 _sm_gone; then
			mapfile -t pids < <(_sm_instance_pids)
			((${#pids[@]} > 0)) && kill -KILL "${pids[@]}" 2>/dev/null
			wait_until 5 _sm_gone || true
		fi
	fi
	if [[ -n ${SM_JOB:-} ]]; then
		wait "$SM_JOB" 2>/dev/null || true
		SM_JOB=
	fi
	return 0
}

sm_send() {
	SEND_SERVER=$SM_ADDR send_mail "$@"
}

sm_last_reply() {
	# swaks marks the server's lines "<- " ("<** " for an error) and the end
	# of DATA " -> .": the reply after that, else the first error.
	awk '/^ -> \.$/ { data = 1; next }
	     data && /^</ { reply = $0; data = 0 }
	     /^<\*\*/ && err == "" { err = $0 }
	     END { if (reply == "") reply = err; print reply }' "$SEND_LOG" |
		sed -n 's/^<[-*~ ]*\([245][0-9][0-9]\)[ -]\([245]\.[0-9]*\.[0-9]*\).*/\1 \2/p'
}

sm_last_qid() {
	sed -n 's/^<.* 250 2\.0\.0 \([0-9A-Za-z]*\) Message accepted for delivery.*/\1/p' \
		"$SEND_LOG" | tail -1
}

sm_queue_ids() {
	find "$SM_QUEUE" -maxdepth 1 -name 'qf*' -printf '%f\n' 2>/dev/null | sed 's/^qf//' | sort
}

# A quarantined message (smfi_quarantine) waits in an hf file, not a qf,
# and its "q" line holds the reason.
sm_quarantine_reason() {
	sed -n 's/^q//p' "$SM_QUEUE/hf${1:?sm_quarantine_reason QID}" 2>/dev/null
}

sm_diag() {
	{
		printf '# ---- %s\n' "$SM_MC"
		sed 's/^/# /' "$SM_MC"
		printf '# ---- queue: %s\n' "$(sm_queue_ids | tr '\n' ' ')"
		[[ -s $SM_ERR ]] && sed 's/^/# /' "$SM_ERR"
	} >&2
	pf_diag "$@"
}

sm_cleanup() {
	sm_stop || true
	pf_cleanup
	if [[ -n ${SM_WORK:-} && -f ${SM_WORK:-}/.sendmail-lib-workdir ]] && [[ ${KEEP_WORK:-0} != 1 ]]; then
		rm -rf -- "$SM_WORK"
	fi
	return 0
}
