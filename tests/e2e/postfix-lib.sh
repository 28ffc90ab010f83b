# shellcheck shell=bash
# postfix-lib.sh - run a private, throw-away Postfix instance plus an SMTP
# sink for end-to-end tests of the mailward milter.
#
# Source it from a bash test script:
#
#     . "$(dirname "$0")/postfix-lib.sh"
#     work=$(mktemp -d)
#     trap pf_cleanup EXIT
#     pf_setup "$work"
#     sink_start && pf_start
#     send_mail 127.0.0.2 "$PF_PORT" a@test.example b@example.com
#     sink_wait_count 1 30
#
# ---------------------------------------------------------------------------
# Installing the dependencies (Debian 12, root, non-interactive)
# ---------------------------------------------------------------------------
#
#     echo "postfix postfix/main_mailer_type select No configuration" \
#         | debconf-set-selections
#     DEBIAN_FRONTEND=noninteractive apt-get install -y postfix swaks
#
# "No configuration" means the package installs no /etc/postfix/main.cf, and
# Debian's postfix.service has ConditionPathExists=/etc/postfix/main.cf, so
# no system Postfix is ever configured or started (neither now nor at boot).
# The library never reads or writes /etc/postfix/main.cf.  It only uses the
# package's binaries and the read-only meta files in /etc/postfix
# (postfix-files, dynamicmaps.cf), which every instance shares.
#
# Everything else the library uses is always on Debian: bash >= 5, perl-base
# (free-port finder; swaks needs perl anyway), coreutils (timeout), findutils,
# grep, mawk, util-linux (runuser).  python3 is NOT needed.
#
# ---------------------------------------------------------------------------
# Requirements and behaviour
# ---------------------------------------------------------------------------
#
# * Must run as root (postfix start requires it).  No stdin/TTY needed.
# * One instance per shell process (state is kept in global variables).
#   Several instances can run in parallel from different processes: each
#   has its own work dir, config dir, queue, ports and sink.
# * All waits are bounded; every function returns non-zero on failure and
#   explains why on stderr (prefix "postfix-lib:").  Functions work both
#   with and without the caller's "set -euo pipefail".
#
# Layout of the work directory (WORKDIR is made mode 755 so the postfix
# user can traverse it; its parents must be traversable too, /tmp is fine):
#
#     WORKDIR/etc/main.cf, master.cf   config_directory (PF_DIR), generated
#     WORKDIR/etc/sasl/                smtpd.conf + sasldb2 (SASL mode only)
#     WORKDIR/spool/                   queue_directory (PF_QUEUE)
#     WORKDIR/data/                    data_directory
#     WORKDIR/log/maillog              maillog_file (PF_LOG), via postlogd
#     WORKDIR/log/postfix-cmd.log      output of postfix start/stop/reload
#     WORKDIR/log/sink.log             smtp-sink's stderr
#     WORKDIR/sink/                    one file per received message (SINK_DIR)
#     WORKDIR/send/NNN.log             swaks transcript per send_mail (SEND_LOG)
#
# The Postfix instance (see _pf_write_main_cf / _pf_write_master_cf):
# * smtpd on 127.0.0.1:PF_PORT ("smtp" service, plain MTA-style inbound) and
#   a submission-like smtpd on 127.0.0.1:PF_SUBMISSION_PORT with
#   "-o syslog_name=postfix/submission -o milter_macro_daemon_name=ORIGINATING"
#   (milters see {daemon_name}=ORIGINATING there, and the default
#   milter_macro_daemon_name=$myhostname, i.e. mx.test.example, on PF_PORT).
#   No TLS; no SASL unless PF_SASL=1 (below).
#   If the host has ::1 (PF_IPV6=auto, the default) both also listen on
#   [::1] (inet_protocols=all); PF_IPV6=0 before pf_setup disables that.
# * mynetworks = 127.0.0.0/8 [::1]/128: every loopback client may relay.
#   Everything is relayed to the sink: relayhost = [127.0.0.1]:SINK_PORT.
#   mydestination is empty and local_transport is "error:", so nothing is
#   ever delivered locally; no DNS is ever queried
#   (smtp_dns_support_level=disabled; smtpd_peername_lookup=no, so the
#   client name is "unknown", as in "Received: from HELO (unknown [IP])",
#   and that is what milters get as {client_name}).
# * XCLIENT is allowed from loopback (smtpd_authorized_xclient_hosts), so a
#   test can pretend to be any client address with swaks --xclient-addr.
# * Short retry times: queue_run_delay=1s, minimal_backoff_time=1s,
#   maximal_backoff_time=2s; milter timeouts 10s/10s/30s
#   (connect/command/content).
# * compatibility_level = 3.6, myhostname = mx.test.example, no chroot.
#
# SASL mode (opt-in: PF_SASL=1 before pf_setup)
# * SMTP AUTH (Cyrus SASL, smtpd_sasl_type = cyrus) on the submission
#   service only, which then relays for authenticated clients only:
#   "-o smtpd_sasl_auth_enable=yes
#    -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
#   (the shape of Postfix's sample master.cf).  The smtp service (PF_PORT)
#   offers no AUTH and still relays for mynetworks.
# * Users live in a Berkeley DB sasldb, PF_SASL_DB = PF_DIR/sasl/sasldb2
#   (add them with pf_sasl_user), next to Cyrus's smtpd.conf in
#   PF_SASL_DIR = PF_DIR/sasl: pwcheck_method: auxprop, auxprop_plugin:
#   sasldb, sasldb_path: PF_SASL_DB, mech_list: PLAIN LOGIN.  No saslauthd;
#   the system's /etc/sasldb2 and /etc/postfix/sasl are never read.
# * AUTH PLAIN/LOGIN over plain TCP: there is no TLS, so
#   smtpd_tls_auth_only = no and smtpd_sasl_security_options = noanonymous
#   (plaintext mechanisms allowed).  Never in production: there the
#   submission service needs "-o smtpd_tls_security_level=encrypt
#   -o smtpd_tls_auth_only=yes" so passwords never cross the wire in clear.
# * smtpd runs as user postfix and unchrooted here, so the sasldb is
#   root:postfix 0640 and found by its absolute path.  (A chrooted smtpd,
#   as in Debian's default master.cf, needs the sasldb and smtpd.conf
#   inside the chroot, /var/spool/postfix.)
# * Milters see the login in {auth_authen} (and {auth_type} PLAIN/LOGIN)
#   at MAIL FROM; Postfix logs "sasl_method=PLAIN, sasl_username=LOGIN".
#   A wrong password gets "535 5.7.8 Error: authentication failed" and
#   swaks exit status 28; an unauthenticated client gets "554 5.7.1
#   <RCPT>: Recipient address rejected: Access denied" (status 24), so its
#   mail never reaches a milter's end of message.
#
# ---------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------
#
# pf_setup WORKDIR
#     Create the layout above and write main.cf + master.cf.  Sets PF_WORK,
#     PF_DIR, PF_QUEUE, PF_DATA, PF_LOG, PF_CMDLOG, PF_PORT,
#     PF_SUBMISSION_PORT, SINK_PORT, SINK_DIR, SINK_LOG, PF_IPV6 (0/1).
#     Ports: a caller may preset PF_PORT, PF_SUBMISSION_PORT and/or
#     SINK_PORT; the others are picked with pf_free_ports.  PF_IPV6=auto|0|1
#     may be preset too, and PF_SASL=1 (SASL mode, above; then also sets
#     PF_SASL_DIR and PF_SASL_DB).  Does not start anything.
# pf_sasl_user LOGIN PASSWORD
#     SASL mode: add (or change) a user in the sasldb.  LOGIN is what the
#     client sends, USER@REALM, e.g. alice@example.com (saslpasswd2 -u
#     REALM USER); it is also what milters get as {auth_authen}.  Takes
#     effect at once, with no reload: Cyrus opens the sasldb per lookup.
# pf_free_ports [N]
#     Print N (default 1) distinct free TCP ports (space separated).  Ports
#     are picked at random in 20000-32767 (below Linux's ephemeral range, so
#     outgoing connections do not grab them) and checked by binding
#     127.0.0.1 (and ::1 when PF_IPV6=1).  Useful for a milter port too.
# pf_conf KEY=VALUE...
#     postconf -e the settings into main.cf; if Postfix is running, pf_reload.
#     (inet_interfaces/inet_protocols changes need pf_stop + pf_start.)
# pf_conf_service SERVICE/TYPE/KEY=VALUE...
#     postconf -P -e (a "-o key=value" override of one master.cf service),
#     e.g. pf_conf_service "$PF_SUBMISSION_PORT/inet/smtpd_milters=inet:..."
#     Reloads if running.
# pf_get KEY
#     Print the effective value of a main.cf parameter (postconf -h).
# pf_reload
#     postfix reload, then wait (max 15 s) until the master logged the reload
#     and every daemon of the previous generation has exited, so the next
#     connection is guaranteed to see the new configuration.
# pf_start
#     postfix -c PF_DIR start; wait (max 30 s) until the master runs and
#     PF_PORT and PF_SUBMISSION_PORT are listening.  No-op if running.
# pf_stop
#     postfix -c PF_DIR abort (= SIGTERM to the master, like "stop" but
#     without its 1-second sleeps); wait (max 15 s) for the master to exit, then
#     SIGKILL the master and any leftover daemon of this instance (found by
#     MAIL_CONFIG=PF_DIR in /proc/PID/environ).  No-op if not running.
# pf_running
#     Status 0 if this instance's master process is alive.
# pf_master_pid
#     Print the master's pid (status 1 if not running).
# pf_flush
#     postqueue -c PF_DIR -f (retry all deferred mail now, "unthrottle"
#     destinations marked dead).
# pf_queue_count
#     Print the number of messages in the queue (incoming, active, deferred,
#     hold, maildrop), by counting queue files - works even when stopped.
# pf_queue_ids
#     Print the queue IDs of those messages, one per line.
# pf_wait_queue_empty SECONDS
#     Wait until pf_queue_count is 0.
# pf_log_count ERE
#     Print how many lines of PF_LOG match the extended regexp.
# pf_log_wait ERE SECONDS [N]
#     Wait until at least N (default 1) lines of PF_LOG match ERE.
# pf_diag [LINES]
#     Print the last LINES (default 40) lines of PF_LOG, the sink log, the
#     postfix command log and SEND_LOG to stderr, each line prefixed "# "
#     (TAP diagnostics).  Call it when a test fails.
# pf_cleanup
#     Stop Postfix and the sink (whatever was started, never fails) and
#     remove PF_WORK unless KEEP_WORK=1.  Meant for "trap pf_cleanup EXIT";
#     idempotent; removes only a directory that pf_setup initialised.
#
# sink_start / sink_stop
#     Start/stop Postfix's smtp-sink(1) on SINK_ADDR:SINK_PORT (SINK_ADDR
#     defaults to 127.0.0.1; sendmail-lib.sh sets its own), as user
#     postfix, dumping every mail transaction to its own file in SINK_DIR
#     (smtp-sink -d).  sink_start waits until it listens; sink_stop sends
#     TERM, then KILL after 5 s.  A stopped sink makes Postfix defer mail
#     (useful to test the queue); sink_start again on the same port.
# sink_running
#     Status 0 if the sink process is alive.
# sink_message_files
#     Print the paths of the COMPLETE message files, oldest first.
#     smtp-sink creates a file at MAIL FROM and writes/closes it at the end
#     of DATA (it unlinks it on RSET/abort), so a file that smtp-sink still
#     holds open (seen in /proc/PID/fd) is in progress and is not listed.
# sink_count
#     Print the number of complete message files.
# sink_wait_count N SECONDS
#     Wait until at least N complete message files exist.
# sink_grep ERE
#     Print the complete message files whose content matches ERE.
# sink_message FILE
#     Print the message exactly as Postfix sent it (all headers incl. the
#     ones a milter added, blank line, body), without smtp-sink's prologue
#     and trailing blank line.  Line ends are LF (smtp-sink drops CRs) and
#     dot-stuffing is undone.
# sink_envelope FILE
#     Print smtp-sink's envelope records of FILE, e.g.
#         X-Client-Addr: 127.0.0.1
#         X-Client-Proto: ESMTP
#         X-Helo-Args: mx.test.example
#         X-Mail-Args: <a@test.example>
#         X-Rcpt-Args: <b@example.com> ORCPT=rfc822;b@example.com
#     (one X-Rcpt-Args per recipient; X-Client-Addr/X-Helo-Args describe
#     Postfix's SMTP client, not the original client).
# sink_clear
#     Delete all complete message files (between test cases).
#
#     Raw dump format of a file in SINK_DIR (see smtp-sink(1) "DUMP FILE
#     FORMAT"): the X-* envelope records above, then a 3-line
#     "Received: from HELO ([ADDR])\n\tby sink.test.example (smtp-sink) with
#     ESMTP id HEX;\n\tDATE" header, then the message, then one empty line.
#
# send_mail CLIENT_IP PORT FROM TO [EXTRA_SWAKS_ARGS...]
#     Send one message with swaks from local address CLIENT_IP (any
#     127.x.y.z works on Linux without configuration; ::1 for IPv6) to
#     SEND_SERVER:PORT (default 127.0.0.1; [::1] if CLIENT_IP contains
#     ':'), with
#     --helo client.test.example, header "Subject: $SEND_SUBJECT" (default
#     "postfix-lib test message") and a fixed two-line body.  Extra args are
#     appended and win over these defaults (e.g. --helo x, --header "...",
#     --body "...", --xclient-addr 192.0.2.1, --quit-after RCPT).  The
#     transcript goes to a new file, whose path is left in SEND_LOG.
#     Returns swaks' exit status (0 ok, 2 connect error, 21 banner,
#     22 HELO, 23 MAIL, 24 RCPT, 25 DATA, 26 after end of data, ...;
#     124 if the 60 s overall limit hit).
#
# wait_until SECONDS COMMAND [ARGS...]
#     Run COMMAND every 0.1 s until it succeeds (status 0) or SECONDS
#     (an integer) have passed (status 1).  COMMAND runs at least once.
#
# ---------------------------------------------------------------------------
# Postfix quirks found while writing this
# ---------------------------------------------------------------------------
# * "postfix -c DIR start|stop|reload", "postconf -c DIR" and
#   "postqueue -c DIR" all work as root WITHOUT alternate_config_directories
#   (checked on Debian 12 / Postfix 3.7.11; that list in the default
#   main.cf matters when non-root users run the set-gid commands with a
#   non-default directory, which this library never does).  So no
#   /etc/postfix/main.cf is needed at all.
# * maillog_file must start with one of maillog_file_prefixes (default
#   "/var, /dev/stdout"), otherwise every command dies with "maillog_file
#   value ... does not match any prefix" - and, as logging is what fails,
#   "postfix check" just exits 1 with no message.  We set
#   maillog_file_prefixes = PF_WORK.
# * queue_directory must exist (owned by root) before "postfix start";
#   "postfix start" (post-install create-missing) creates its
#   subdirectories and data_directory with the right owners.
# * Postfix re-reads a config file modified in the last ~2 s, in 300 ms
#   steps, until it "cools down"; right after postconf -e, "postfix reload"
#   and every new daemon took ~2 s.  The library backdates main.cf and
#   master.cf after each write (_pf_cool_config).
# * "postfix reload" only sends SIGHUP and returns; old daemons (idle smtpd
#   processes with the old settings) exit asynchronously.  pf_reload waits
#   for the master's "reload" log line and for every old daemon to exit,
#   so a test never talks to a stale smtpd.
# * "postfix stop" sleeps in whole seconds while waiting for the master;
#   pf_stop uses "postfix abort" (same SIGTERM) and polls every 0.1 s.
# * The master daemonises and is reparented to PID 1.  Where PID 1 does not
#   reap promptly (some containers), a dead master stays a zombie that
#   "kill -0" still reports as alive; the library checks /proc/PID/stat.
# * milter_default_action=tempfail with an unreachable milter: smtpd logs
#   milter-reject at CONNECT and EHLO, but (smtpd_delay_reject=yes) the
#   client only sees "451 4.7.1 Service unavailable - try again later" in
#   reply to MAIL FROM (swaks exit status 23).  With "accept" the mail goes
#   through and smtpd logs "warning: connect to Milter service ...".
# * The sink has to run unprivileged (smtp-sink requires -u as root), so
#   SINK_DIR is owned by postfix.
# * Queue ID for milters: with the default smtpd_delay_open_until_valid_rcpt
#   = yes the queue file is created at the first accepted RCPT, so the {i}
#   macro is only available from the RCPT stage on (not at connect, HELO or
#   MAIL); pf_conf smtpd_delay_open_until_valid_rcpt=no makes it available
#   from MAIL on.  (Documented Postfix behaviour; the selftest has no milter
#   and does not check it.)
# * Debian's Postfix (3.7.11-0+deb12u1) looks for the Cyrus application
#   file (smtpd.conf) in $config_directory/sasl and /usr/lib/sasl only, and
#   ignores cyrus_sasl_config_path (a Debian patch, seen with strace: it
#   never opened the configured directory).  Upstream Postfix uses
#   cyrus_sasl_config_path.  SASL mode puts smtpd.conf in PF_DIR/sasl and
#   sets cyrus_sasl_config_path to that same directory, so both agree;
#   without it Cyrus silently fell back to /etc/sasldb2 and every mechanism
#   it has.

# ---------------------------------------------------------------------------
# Internal helpers
# ---------------------------------------------------------------------------

# shellcheck source=../lib/proc.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/proc.sh"

_pf_err() { printf 'postfix-lib: %s\n' "$*" >&2; }

_pf_need_setup() {
    if [[ -z ${PF_DIR:-} || ! -f ${PF_DIR:-}/main.cf ]]; then
        _pf_err "pf_setup has not been run"
        return 1
    fi
}

# _pf_port_listening PORT: is there a TCP listener on PORT (any address)?
_pf_port_listening() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
                      END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

_pf_pid_gone() { ! pid_alive "$1"; }

_pf_pids_gone() {
    local p
    for p in "$@"; do
        pid_alive "$p" && return 1
    done
    return 0
}

# _pf_children PID: direct children of PID.
_pf_children() {
    local f rest ppid
    for f in /proc/[0-9]*/stat; do
        read -r rest 2>/dev/null <"$f" || continue
        rest=${rest##*) }   # drop "pid (comm) "
        ppid=${rest#* }     # drop "state "
        ppid=${ppid%% *}
        if [[ $ppid == "$1" ]]; then
            f=${f#/proc/}
            printf '%s\n' "${f%/stat}"
        fi
    done
}

# _pf_instance_pids: every Postfix daemon of this instance, including
# orphans whose master is gone (the master exports MAIL_CONFIG=PF_DIR).
_pf_instance_pids() {
    local f p exe
    [[ -n ${PF_DIR:-} ]] || return 0
    while IFS= read -r f; do
        p=${f#/proc/}
        p=${p%/environ}
        exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
        case $exe in
            /usr/lib/postfix/*|/usr/libexec/postfix/*) printf '%s\n' "$p" ;;
        esac
    done < <(grep -lszxF "MAIL_CONFIG=$PF_DIR" /proc/[0-9]*/environ 2>/dev/null)
}

# _pf_cool_config: backdate main.cf/master.cf.  Postfix re-reads a
# configuration file that was modified within the last ~2 seconds, pausing
# 300 ms each time, until it "cools down" (util/dict.c); that made every
# command and daemon started right after a postconf -e take ~2 s.  Reloads
# are signalled explicitly, so the mtime does not matter to us.
_pf_cool_config() {
    local past=$(( ${EPOCHREALTIME%%[!0-9]*} - 10 ))
    touch -d "@$past" "$PF_DIR/main.cf" "$PF_DIR/master.cf"
}

# _pf_run LABEL CMD...: run an admin command with bounded time, stdio in the
# command log; on failure show the tail of that log.
_pf_run() {
    local label=$1 rc=0
    shift
    printf '=== %s: %s\n' "$(date '+%F %T')" "$*" >>"$PF_CMDLOG"
    timeout 60 "$@" </dev/null >>"$PF_CMDLOG" 2>&1 || rc=$?
    if (( rc != 0 )); then
        _pf_err "$label failed (status $rc): $*"
        tail -n 15 "$PF_CMDLOG" | sed 's/^/postfix-lib:   /' >&2
    fi
    return "$rc"
}

# ---------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------

pf_free_ports() {
    local n=${1:-1}
    perl -MIO::Socket::IP -e '
        my ($n, $v6) = @ARGV;
        srand($$ ^ time);
        my (%seen, @keep, @ports);
        for (my $try = 0; @ports < $n && $try < 500; $try++) {
            my $p = 20000 + int(rand(12768));
            next if $seen{$p}++;
            my @s;
            for my $h ("127.0.0.1", $v6 ? ("::1") : ()) {
                my $s = IO::Socket::IP->new(LocalHost => $h, LocalPort => $p,
                                            Proto => "tcp", Listen => 1);
                $s or last;
                push @s, $s;
            }
            next unless @s == ($v6 ? 2 : 1);
            push @keep, @s;     # keep bound until all N are found
            push @ports, $p;
        }
        @ports == $n or die "postfix-lib: no free ports found\n";
        print "@ports\n";
    ' "$n" "${PF_IPV6:-0}"
}

pf_setup() {
    local work=${1:?pf_setup WORKDIR}
    if (( EUID != 0 )); then
        _pf_err "must run as root (Postfix's master needs it)"
        return 1
    fi
    local b
    for b in postfix postconf postqueue smtp-sink swaks perl; do
        if ! command -v "$b" >/dev/null 2>&1; then
            _pf_err "$b not found; see the install snippet in postfix-lib.sh"
            return 1
        fi
    done
    if ! id postfix >/dev/null 2>&1; then
        _pf_err "user postfix does not exist (is the postfix package installed?)"
        return 1
    fi
    mkdir -p "$work" || return 1
    PF_WORK=$(cd "$work" && pwd -P) || return 1
    chmod 755 "$PF_WORK" || return 1
    # This marker lets pf_cleanup remove the directory safely.
    : >"$PF_WORK/.postfix-lib-workdir" || return 1

    PF_DIR=$PF_WORK/etc
    PF_QUEUE=$PF_WORK/spool
    PF_DATA=$PF_WORK/data
    PF_LOG=$PF_WORK/log/maillog
    PF_CMDLOG=$PF_WORK/log/postfix-cmd.log
    SINK_DIR=$PF_WORK/sink
    SINK_LOG=$PF_WORK/log/sink.log
    SINK_PID=
    SEND_LOG=
    SEND_SEQ=0
    mkdir -p "$PF_DIR" "$PF_QUEUE" "$PF_WORK/log" "$SINK_DIR" "$PF_WORK/send" || return 1
    chmod 755 "$PF_DIR" "$PF_QUEUE" "$PF_WORK/log" || return 1
    chown postfix:postfix "$SINK_DIR" || return 1
    : >"$PF_CMDLOG"
    if ! runuser -u postfix -- test -w "$SINK_DIR" 2>/dev/null; then
        _pf_err "user postfix cannot reach $SINK_DIR; make every parent of $PF_WORK world-traversable (o+x) or use a work dir under /tmp"
        return 1
    fi

    case ${PF_IPV6:-auto} in
        auto)
            if grep -qs '^00000000000000000000000000000001 ' /proc/net/if_inet6; then
                PF_IPV6=1
            else
                PF_IPV6=0
            fi ;;
        1|yes) PF_IPV6=1 ;;
        *) PF_IPV6=0 ;;
    esac
    case ${PF_SASL:-0} in
        1|yes) PF_SASL=1 ;;
        *) PF_SASL=0 ;;
    esac

    local need=0 ports
    [[ -n ${PF_PORT:-} ]] || need=$((need + 1))
    [[ -n ${PF_SUBMISSION_PORT:-} ]] || need=$((need + 1))
    [[ -n ${SINK_PORT:-} ]] || need=$((need + 1))
    if (( need > 0 )); then
        ports=$(pf_free_ports "$need") || return 1
        read -r -a ports <<<"$ports"
        [[ -n ${PF_PORT:-} ]] || { PF_PORT=${ports[0]}; ports=("${ports[@]:1}"); }
        [[ -n ${PF_SUBMISSION_PORT:-} ]] || { PF_SUBMISSION_PORT=${ports[0]}; ports=("${ports[@]:1}"); }
        [[ -n ${SINK_PORT:-} ]] || SINK_PORT=${ports[0]}
    fi

    _pf_write_main_cf || return 1
    _pf_write_master_cf || return 1
    if (( PF_SASL )); then
        _pf_write_sasl || return 1
    fi
    _pf_cool_config || return 1
    # Catch config mistakes now rather than at start.
    if ! postconf -c "$PF_DIR" -n >/dev/null 2>"$PF_WORK/log/postconf.err" \
        || [[ -s $PF_WORK/log/postconf.err ]]; then
        _pf_err "postconf reports problems with the generated main.cf:"
        sed 's/^/postfix-lib:   /' "$PF_WORK/log/postconf.err" >&2
        return 1
    fi
    export PF_WORK PF_DIR PF_QUEUE PF_LOG PF_PORT PF_SUBMISSION_PORT SINK_PORT SINK_DIR
}

# _pf_write_sasl: SASL mode's Cyrus configuration and an empty sasldb.
# smtpd (user postfix) reads both by absolute path: nothing is chrooted.
_pf_write_sasl() {
    PF_SASL_DIR=$PF_DIR/sasl
    PF_SASL_DB=$PF_SASL_DIR/sasldb2
    export PF_SASL_DIR PF_SASL_DB
    { mkdir -p "$PF_SASL_DIR" && chmod 755 "$PF_SASL_DIR"; } || return 1
    # smtpd asks Cyrus for the application "smtpd" (smtpd_sasl_path), so
    # Cyrus reads smtpd.conf from the configuration path (see the quirks).
    cat >"$PF_SASL_DIR/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $PF_SASL_DB
mech_list: PLAIN LOGIN
EOF
    # Create the database with a throw-away user, then delete the user, so
    # that a lookup before the first pf_sasl_user finds an empty sasldb
    # rather than a missing file.
    _pf_saslpasswd x -c -u postfix-lib.invalid placeholder || return 1
    _pf_saslpasswd '' -d -u postfix-lib.invalid placeholder || return 1
}

# _pf_saslpasswd PASSWORD ARGS...: saslpasswd2 on PF_SASL_DB, then make the
# file readable by smtpd (group postfix) and nobody else: it holds passwords.
_pf_saslpasswd() {
    local password=$1 err=$PF_WORK/log/saslpasswd.err
    shift
    # -p: the password is the first line of stdin (no TTY prompt).
    if ! printf '%s\n' "$password" | saslpasswd2 -f "$PF_SASL_DB" -p "$@" 2>"$err"; then
        _pf_err "saslpasswd2 $* failed:"
        sed 's/^/postfix-lib:   /' "$err" >&2
        return 1
    fi
    chown root:postfix "$PF_SASL_DB" && chmod 640 "$PF_SASL_DB"
}

pf_sasl_user() {
    _pf_need_setup || return 1
    local login=${1:?pf_sasl_user LOGIN PASSWORD} password=${2?pf_sasl_user LOGIN PASSWORD}
    if [[ ${PF_SASL:-0} != 1 ]]; then
        _pf_err "pf_sasl_user: SASL mode is off (set PF_SASL=1 before pf_setup)"
        return 1
    fi
    if [[ $login != ?*@?* ]]; then
        _pf_err "pf_sasl_user: expected LOGIN as USER@REALM, got: $login"
        return 1
    fi
    _pf_saslpasswd "$password" -c -u "${login##*@}" "${login%@*}"
}

_pf_write_main_cf() {
    local interfaces=127.0.0.1 protocols=ipv4
    if (( PF_IPV6 )); then
        interfaces='127.0.0.1, [::1]'
        protocols=all
    fi
    cat >"$PF_DIR/main.cf" <<EOF
# Generated by tests/e2e/postfix-lib.sh - private test instance, do not edit.
compatibility_level = 3.6

# --- where things live (everything inside the work dir)
queue_directory = $PF_QUEUE
data_directory = $PF_DATA
maillog_file = $PF_LOG
maillog_file_prefixes = $PF_WORK

# --- identity
myhostname = mx.test.example
mydomain = test.example
myorigin = \$myhostname
smtpd_banner = \$myhostname ESMTP mailward-test

# --- network: loopback only
inet_interfaces = $interfaces
inet_protocols = $protocols
mynetworks = 127.0.0.0/8 [::1]/128
smtpd_authorized_xclient_hosts = 127.0.0.0/8 [::1]/128

# --- no local delivery, relay everything to the sink, never use DNS
mydestination =
relay_domains =
local_recipient_maps =
local_transport = error:local delivery is disabled in this test instance
alias_maps =
alias_database =
relayhost = [127.0.0.1]:$SINK_PORT
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_tls_security_level = none
smtpd_tls_security_level = none
biff = no
append_dot_mydomain = no

# --- milters (tests set smtpd_milters with pf_conf)
smtpd_milters =
non_smtpd_milters =
milter_default_action = tempfail
milter_connect_timeout = 10s
milter_command_timeout = 10s
milter_content_timeout = 30s

# --- fast, predictable behaviour for tests
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 0h
in_flow_delay = 0s
smtpd_error_sleep_time = 0s
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 100
smtp_connect_timeout = 5s
EOF
    (( PF_SASL )) || return 0
    cat >>"$PF_DIR/main.cf" <<EOF

# --- SASL mode: Cyrus with a sasldb; master.cf enables AUTH on the
# submission service only.  Plaintext AUTH without TLS is for this loopback
# test instance only; production needs smtpd_tls_auth_only = yes.
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $PF_DIR/sasl
smtpd_sasl_security_options = noanonymous
smtpd_tls_auth_only = no
EOF
}

# SASL mode's overrides of the submission service, each on its own line.
_pf_submission_sasl_opts() {
    (( PF_SASL )) || return 0
    printf '\n  -o smtpd_sasl_auth_enable=yes'
    printf '\n  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject'
}

_pf_write_master_cf() {
    cat >"$PF_DIR/master.cf" <<EOF
# Generated by tests/e2e/postfix-lib.sh - private test instance, do not edit.
# No service is chrooted.
# service        type  private unpriv  chroot  wakeup  maxproc command + args
$PF_PORT         inet  n       -       n       -       -       smtpd
$PF_SUBMISSION_PORT inet n     -       n       -       -       smtpd
  -o syslog_name=postfix/submission
  -o milter_macro_daemon_name=ORIGINATING$(_pf_submission_sasl_opts)
pickup           unix  n       -       n       60      1       pickup
cleanup          unix  n       -       n       -       0       cleanup
qmgr             unix  n       -       n       300     1       qmgr
rewrite          unix  -       -       n       -       -       trivial-rewrite
bounce           unix  -       -       n       -       0       bounce
defer            unix  -       -       n       -       0       bounce
trace            unix  -       -       n       -       0       bounce
verify           unix  -       -       n       -       1       verify
flush            unix  n       -       n       1000?   0       flush
proxymap         unix  -       -       n       -       -       proxymap
proxywrite       unix  -       -       n       -       1       proxymap
smtp             unix  -       -       n       -       -       smtp
relay            unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/\$service_name
showq            unix  n       -       n       -       -       showq
error            unix  -       -       n       -       -       error
retry            unix  -       -       n       -       -       error
discard          unix  -       -       n       -       -       discard
anvil            unix  -       -       n       -       1       anvil
scache           unix  -       -       n       -       1       scache
postlog          unix-dgram n  -       n       -       1       postlogd
EOF
}

pf_get() {
    _pf_need_setup || return 1
    postconf -c "$PF_DIR" -h "${1:?pf_get KEY}"
}

pf_conf() {
    _pf_need_setup || return 1
    local kv
    for kv in "$@"; do
        if [[ $kv != *=* ]]; then
            _pf_err "pf_conf: expected KEY=VALUE, got: $kv"
            return 1
        fi
    done
    (( $# > 0 )) || return 0
    postconf -c "$PF_DIR" -e "$@" || return 1
    _pf_cool_config
    if pf_running; then
        pf_reload || return 1
    fi
}

pf_conf_service() {
    _pf_need_setup || return 1
    (( $# > 0 )) || return 0
    postconf -c "$PF_DIR" -P -e "$@" || return 1
    _pf_cool_config
    if pf_running; then
        pf_reload || return 1
    fi
}

# ---------------------------------------------------------------------------
# Start / stop / reload
# ---------------------------------------------------------------------------

pf_master_pid() {
    local pid=
    [[ -n ${PF_QUEUE:-} && -r $PF_QUEUE/pid/master.pid ]] || return 1
    read -r pid <"$PF_QUEUE/pid/master.pid" 2>/dev/null || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    pid_alive "$pid" || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == master ]] || return 1
    printf '%s\n' "$pid"
}

pf_running() { pf_master_pid >/dev/null; }

_pf_ready() {
    pf_running && _pf_port_listening "$PF_PORT" \
        && _pf_port_listening "$PF_SUBMISSION_PORT"
}

pf_start() {
    _pf_need_setup || return 1
    if pf_running; then
        return 0
    fi
    _pf_run "postfix start" postfix -c "$PF_DIR" start || return 1
    if ! wait_until 30 _pf_ready; then
        _pf_err "Postfix did not come up (ports $PF_PORT/$PF_SUBMISSION_PORT)"
        tail -n 20 "$PF_LOG" 2>/dev/null | sed 's/^/postfix-lib:   /' >&2
        return 1
    fi
}

pf_reload() {
    _pf_need_setup || return 1
    local master old before
    master=$(pf_master_pid) || { _pf_err "pf_reload: not running"; return 1; }
    mapfile -t old < <(_pf_children "$master")
    before=$(pf_log_count 'postfix/master\[[0-9]+\]: reload ')
    _pf_run "postfix reload" postfix -c "$PF_DIR" reload || return 1
    if ! pf_log_wait 'postfix/master\[[0-9]+\]: reload ' 15 $((before + 1)); then
        _pf_err "pf_reload: the master did not log the reload"
        return 1
    fi
    if ! wait_until 15 _pf_pids_gone "${old[@]}"; then
        _pf_err "pf_reload: old daemons still running: ${old[*]}"
        return 1
    fi
}

pf_stop() {
    [[ -n ${PF_DIR:-} && -f ${PF_DIR:-}/main.cf ]] || return 0
    local master pids
    if master=$(pf_master_pid); then
        # "postfix abort" sends the master the same SIGTERM as "postfix
        # stop", but does not sleep in 1 s steps; we poll ourselves.
        _pf_run "postfix abort" postfix -c "$PF_DIR" abort || true
        if ! wait_until 15 _pf_pid_gone "$master"; then
            _pf_err "master $master did not exit; killing it"
            kill -KILL "$master" 2>/dev/null
        fi
    fi
    # Daemons normally exit together with the master; make sure.
    mapfile -t pids < <(_pf_instance_pids)
    if (( ${#pids[@]} > 0 )) && ! wait_until 5 _pf_pids_gone "${pids[@]}"; then
        _pf_err "killing leftover Postfix processes: ${pids[*]}"
        kill -KILL "${pids[@]}" 2>/dev/null
        wait_until 5 _pf_pids_gone "${pids[@]}" || true
    fi
    return 0
}

pf_flush() {
    _pf_need_setup || return 1
    _pf_run "postqueue -f" postqueue -c "$PF_DIR" -f
}

pf_queue_ids() {
    _pf_need_setup || return 1
    local d dirs=()
    for d in incoming active deferred hold maildrop; do
        [[ -d $PF_QUEUE/$d ]] && dirs+=("$PF_QUEUE/$d")
    done
    (( ${#dirs[@]} > 0 )) || return 0
    find "${dirs[@]}" -type f -printf '%f\n' 2>/dev/null | sort -u
}

pf_queue_count() {
    local ids
    ids=$(pf_queue_ids) || return 1
    if [[ -z $ids ]]; then
        echo 0
    else
        printf '%s\n' "$ids" | wc -l
    fi
}

_pf_queue_empty() { [[ $(pf_queue_count) == 0 ]]; }

pf_wait_queue_empty() {
    wait_until "${1:?pf_wait_queue_empty SECONDS}" _pf_queue_empty
}

pf_log_count() {
    local n
    n=$(grep -cE -- "${1:?pf_log_count ERE}" "$PF_LOG" 2>/dev/null) || true
    echo "${n:-0}"
}

_pf_log_has() { (( $(pf_log_count "$1") >= $2 )); }

pf_log_wait() {
    wait_until "${2:?pf_log_wait ERE SECONDS [N]}" _pf_log_has "$1" "${3:-1}"
}

pf_diag() {
    local n=${1:-40} f
    for f in "${PF_LOG:-}" "${SINK_LOG:-}" "${PF_CMDLOG:-}" "${SEND_LOG:-}"; do
        [[ -n $f && -s $f ]] || continue
        printf '# ---- %s (last %s lines)\n' "$f" "$n"
        tail -n "$n" "$f" | sed 's/^/# /'
    done >&2
}

pf_cleanup() {
    sink_stop || true
    pf_stop || true
    if [[ -n ${PF_WORK:-} && -f ${PF_WORK:-}/.postfix-lib-workdir ]]; then
        if [[ ${KEEP_WORK:-0} == 1 ]]; then
            _pf_err "KEEP_WORK=1: leaving $PF_WORK"
        else
            rm -rf -- "$PF_WORK"
        fi
    fi
    return 0
}

# ---------------------------------------------------------------------------
# SMTP sink (Postfix's smtp-sink)
# ---------------------------------------------------------------------------

sink_running() { pid_alive "${SINK_PID:-}"; }

_sink_ready() {
    sink_running && _pf_port_listening "$SINK_PORT"
}

sink_start() {
    _pf_need_setup || return 1
    if sink_running; then
        return 0
    fi
    # -u: drop to user postfix; -d: one file per transaction, the name is
    # the strftime-expanded template plus a random hex suffix.
    # -a -C -F: do not announce AUTH, XCLIENT, XFORWARD.
    local template=${SINK_DIR//%/%%}/msg-%Y%m%d-%H%M%S.
    smtp-sink -u postfix -a -C -F -h sink.test.example -t 60 \
        -d "$template" "inet:${SINK_ADDR:-127.0.0.1}:$SINK_PORT" 64 \
        </dev/null >>"$SINK_LOG" 2>&1 &
    SINK_PID=$!
    echo "$SINK_PID" >"$PF_WORK/sink.pid"
    if ! wait_until 10 _sink_ready; then
        _pf_err "smtp-sink did not start on ${SINK_ADDR:-127.0.0.1}:$SINK_PORT"
        sed 's/^/postfix-lib:   /' "$SINK_LOG" >&2
        sink_stop
        return 1
    fi
}

sink_stop() {
    local pid=${SINK_PID:-}
    if [[ -z $pid && -n ${PF_WORK:-} && -r $PF_WORK/sink.pid ]]; then
        read -r pid <"$PF_WORK/sink.pid" || pid=
    fi
    if [[ -n $pid ]] && pid_alive "$pid" \
        && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == smtp-sink ]]; then
        kill -TERM "$pid" 2>/dev/null
        if ! wait_until 5 _pf_pid_gone "$pid"; then
            kill -KILL "$pid" 2>/dev/null
            wait_until 5 _pf_pid_gone "$pid" || true
        fi
    fi
    # Reap it if it is our child (avoids a zombie and a "Terminated" note).
    if [[ -n $pid ]]; then
        wait "$pid" 2>/dev/null || true
    fi
    SINK_PID=
    [[ -n ${PF_WORK:-} ]] && rm -f "$PF_WORK/sink.pid"
    return 0
}

sink_message_files() {
    _pf_need_setup || return 1
    local -a files
    local -A open=()
    local f
    # List first, then look at the open files: a listed file that is not
    # open any more was complete (or was removed - checked below).
    mapfile -t files < <(find "$SINK_DIR" -maxdepth 1 -type f -name 'msg-*' \
        -printf '%T@ %p\n' 2>/dev/null | sort -n | cut -d' ' -f2-)
    if sink_running; then
        while IFS= read -r f; do
            open[$f]=1
        done < <(find "/proc/$SINK_PID/fd" -mindepth 1 -maxdepth 1 -type l \
            -printf '%l\n' 2>/dev/null)
    fi
    for f in "${files[@]}"; do
        [[ -n ${open[$f]:-} ]] && continue
        [[ -f $f ]] && printf '%s\n' "$f"
    done
    return 0
}

sink_count() {
    local n
    n=$(sink_message_files | grep -c .) || true
    echo "${n:-0}"
}

_sink_has() { (( $(sink_count) >= $1 )); }

sink_wait_count() {
    wait_until "${2:?sink_wait_count N SECONDS}" _sink_has "$1"
}

sink_grep() {
    local -a files
    mapfile -t files < <(sink_message_files)
    (( ${#files[@]} > 0 )) || return 1
    grep -lE -- "${1:?sink_grep ERE}" "${files[@]}"
}

sink_message() {
    awk 'st == 2 { if (have) print prev; prev = $0; have = 1; next }
         st == 1 { st = 2; next }
         st == 0 && /^\tby .* \(smtp-sink\) with / { st = 1; next }
         END { if (have && prev != "") print prev }' "${1:?sink_message FILE}"
}

sink_envelope() {
    awk '/^Received: / { exit } { print }' "${1:?sink_envelope FILE}"
}

sink_clear() {
    local f
    while IFS= read -r f; do
        rm -f -- "$f"
    done < <(sink_message_files)
}

# ---------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------

send_mail() {
    if (( $# < 4 )); then
        _pf_err "usage: send_mail CLIENT_IP PORT FROM TO [swaks args...]"
        return 1
    fi
    _pf_need_setup || return 1
    local client=$1 port=$2 from=$3 to=$4 server=${SEND_SERVER:-127.0.0.1} rc=0
    shift 4
    [[ $client == *:* ]] && server=::1
    SEND_SEQ=$(( ${SEND_SEQ:-0} + 1 ))
    SEND_LOG=$(printf '%s/send/%03d.log' "$PF_WORK" "$SEND_SEQ")
    local body
    body=$'This is a test message sent by postfix-lib.sh.\nSecond line of the body.'
    timeout 60 swaks --server "$server" --port "$port" \
        --local-interface "$client" --timeout 20 \
        --helo client.test.example --from "$from" --to "$to" \
        --header "Subject: ${SEND_SUBJECT:-postfix-lib test message}" \
        --body "$body" "$@" </dev/null >"$SEND_LOG" 2>&1 || rc=$?
    return "$rc"
}
