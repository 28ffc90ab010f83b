#!/usr/bin/env bash
# postfix-selftest.sh - prove that postfix-lib.sh works, with no milter.
#
# Runs a private Postfix instance and smtp-sink, sends mail from 127.0.0.1,
# 127.0.0.2 (and ::1 if available), via the submission listener, through a
# deferral + flush, and checks milter_default_action with a milter address
# where nothing listens.  Output is TAP; exit 0 only if every test passed.
# Needs root and the packages listed in postfix-lib.sh's header.
# KEEP_WORK=1 keeps the work directory for inspection.

set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=postfix-lib.sh
. "$HERE/postfix-lib.sh"

PLAN=17
T=0
PASS=0
FAIL=0

# ok DESCRIPTION COMMAND [ARGS...]: one TAP test point.
ok() {
    local desc=$1
    shift
    T=$((T + 1))
    if "$@"; then
        PASS=$((PASS + 1))
        echo "ok $T - $desc"
    else
        FAIL=$((FAIL + 1))
        echo "not ok $T - $desc"
        pf_diag 25
    fi
}

skip() {
    T=$((T + 1))
    PASS=$((PASS + 1))
    echo "ok $T - $1 # SKIP $2"
}

# bail REASON: stop here (the failed test point already printed pf_diag).
bail() {
    echo "Bail out! $*"
    exit 1
}

finish() {
    local rc=$?
    pf_cleanup
    if (( rc == 0 && (FAIL > 0 || T != PLAN) )); then
        rc=1
    fi
    echo "postfix-selftest: $PASS passed, $FAIL failed"
    exit "$rc"
}
trap finish EXIT
trap 'echo "Bail out! interrupted by a signal"; exit 130' INT TERM HUP

# Global state, checked at the end: the system instance must stay untouched.
sys_main_cf_before=$(md5sum /etc/postfix/main.cf 2>/dev/null || echo absent)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/postfix-selftest.XXXXXX") || bail "mktemp failed"

echo "1..$PLAN"

# --- setup ------------------------------------------------------------------
setup_ok() {
    pf_setup "$WORK" || return 1
    [[ -f $PF_DIR/main.cf && -f $PF_DIR/master.cf ]] || return 1
    [[ $(pf_get queue_directory) == "$PF_QUEUE" ]] || return 1
    [[ $(pf_get maillog_file) == "$PF_LOG" ]] || return 1
    [[ -n $PF_PORT && -n $PF_SUBMISSION_PORT && -n $SINK_PORT ]] || return 1
    echo "# work=$PF_WORK smtp=$PF_PORT submission=$PF_SUBMISSION_PORT sink=$SINK_PORT ipv6=$PF_IPV6"
}
ok "pf_setup writes a private main.cf/master.cf" setup_ok
(( FAIL == 0 )) || bail "pf_setup failed"

ok "sink_start: smtp-sink listens on 127.0.0.1:$SINK_PORT" sink_start
ok "pf_start: Postfix listens on $PF_PORT and $PF_SUBMISSION_PORT" pf_start
(( FAIL == 0 )) || bail "could not start the sink or Postfix"

# --- plain relay from two client addresses -----------------------------------
SEND_SUBJECT="selftest from 127.0.0.1"
ok "mail from 127.0.0.1 accepted" \
    send_mail 127.0.0.1 "$PF_PORT" sender@test.example rcpt1@example.com
SEND_SUBJECT="selftest from 127.0.0.2"
ok "mail from 127.0.0.2 accepted" \
    send_mail 127.0.0.2 "$PF_PORT" sender@test.example rcpt2@example.com
unset SEND_SUBJECT

ok "both messages arrive in the sink" sink_wait_count 2 30

arrived_intact() {
    local f1 f2
    f1=$(sink_grep '^Subject: selftest from 127\.0\.0\.1$') || return 1
    f2=$(sink_grep '^Subject: selftest from 127\.0\.0\.2$') || return 1
    # Postfix's Received header names the real client; envelope is intact.
    sink_message "$f1" | grep -q '^Received: from client\.test\.example (unknown \[127\.0\.0\.1\])' || return 1
    sink_message "$f2" | grep -q '^Received: from client\.test\.example (unknown \[127\.0\.0\.2\])' || return 1
    sink_envelope "$f1" | grep -q '^X-Rcpt-Args: <rcpt1@example\.com>' || return 1
    sink_envelope "$f2" | grep -q '^X-Mail-Args: <sender@test\.example>' || return 1
    sink_message "$f1" | grep -q '^Second line of the body\.$'
}
ok "sink files hold headers + body and the right client/envelope" arrived_intact

queue_is_empty() { [[ $(pf_queue_count) == 0 ]]; }
ok "queue is empty after delivery" queue_is_empty

# --- IPv6 and the submission listener -----------------------------------------
if (( PF_IPV6 )); then
    from_v6() {
        local before
        before=$(sink_count)
        send_mail ::1 "$PF_PORT" sender@test.example rcpt6@example.com \
            && sink_wait_count $((before + 1)) 30
    }
    ok "mail from ::1 accepted and delivered" from_v6
else
    skip "mail from ::1 accepted and delivered" "no ::1 on this host"
fi

via_submission() {
    local before
    before=$(sink_count)
    send_mail 127.0.0.1 "$PF_SUBMISSION_PORT" sender@test.example rcpt3@example.com \
        || return 1
    sink_wait_count $((before + 1)) 30 || return 1
    pf_log_wait 'postfix/submission/smtpd\[[0-9]+\]: [0-9A-F]+: client=' 10
}
ok "submission listener accepts mail (syslog_name postfix/submission)" via_submission

# --- deferral while the sink is down, then pf_flush --------------------------
deferred_when_sink_down() {
    sink_stop
    send_mail 127.0.0.1 "$PF_PORT" sender@test.example deferred@example.com \
        || return 1
    pf_log_wait 'to=<deferred@example\.com>.*status=deferred' 20 || return 1
    [[ $(pf_queue_count) == 1 ]]
}
ok "mail is deferred and queued while the sink is down" deferred_when_sink_down

delivered_after_flush() {
    local before
    before=$(sink_count)
    sink_start || return 1
    pf_flush || return 1
    sink_wait_count $((before + 1)) 30 || return 1
    pf_wait_queue_empty 10 || return 1
    sink_grep '^X-Rcpt-Args: <deferred@example\.com>' >/dev/null
}
ok "pf_flush delivers the deferred mail once the sink is back" delivered_after_flush

# --- milter_default_action with an unreachable milter ------------------------
DEAD_PORT=$(pf_free_ports 1) || bail "no free port for the dead milter"

tempfail_rejects() {
    pf_conf "smtpd_milters = inet:127.0.0.1:$DEAD_PORT" \
        "milter_default_action = tempfail" || return 1
    local rc=0
    send_mail 127.0.0.2 "$PF_PORT" sender@test.example tempfail@example.com || rc=$?
    echo "# swaks exit status $rc"
    (( rc != 0 )) || return 1
    grep -E '^<\*\* +451 4\.7\.1 ' "$SEND_LOG" | sed 's/^/# /'
    grep -qE '^<\*\* +451 4\.7\.1 ' "$SEND_LOG"
}
ok "milter_default_action=tempfail + dead milter: client gets 451 4.7.1" tempfail_rejects

tempfail_not_delivered() {
    pf_log_wait "milter-reject: .* 451 4\.7\.1 .*from=<sender@test\.example>" 10 \
        || return 1
    sleep 1
    ! sink_grep '^X-Rcpt-Args: <tempfail@example\.com>' >/dev/null \
        && [[ $(pf_queue_count) == 0 ]]
}
ok "tempfailed mail is neither queued nor delivered" tempfail_not_delivered

accept_delivers() {
    local before
    pf_conf "milter_default_action = accept" || return 1
    before=$(sink_count)
    send_mail 127.0.0.2 "$PF_PORT" sender@test.example accept@example.com \
        || return 1
    sink_wait_count $((before + 1)) 30 || return 1
    sink_grep '^X-Rcpt-Args: <accept@example\.com>' >/dev/null || return 1
    pf_log_wait "warning: connect to Milter service inet:127\.0\.0\.1:$DEAD_PORT" 10
}
ok "milter_default_action=accept + dead milter: mail is delivered" accept_delivers

# --- shutdown -------------------------------------------------------------------
stopped_clean() {
    local master
    master=$(pf_master_pid) || return 1
    pf_stop
    sink_stop
    ! pid_alive "$master" || return 1
    [[ -z $(_pf_instance_pids) ]] || return 1
    ! _pf_port_listening "$PF_PORT" && ! _pf_port_listening "$PF_SUBMISSION_PORT" \
        && ! _pf_port_listening "$SINK_PORT"
}
ok "pf_stop/sink_stop leave no process and no listener behind" stopped_clean

system_untouched() {
    local now pid=
    now=$(md5sum /etc/postfix/main.cf 2>/dev/null || echo absent)
    [[ $now == "$sys_main_cf_before" ]] || return 1
    if [[ -r /var/spool/postfix/pid/master.pid ]]; then
        read -r pid </var/spool/postfix/pid/master.pid
        ! pid_alive "$pid" || return 1
    fi
    return 0
}
ok "system /etc/postfix/main.cf untouched, no system Postfix running" system_untouched
