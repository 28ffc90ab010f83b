# shellcheck shell=bash
# inbound-lib.sh - what inbound.sh and inbound-hostile.sh share (sourced)
#
# Keys and signers, a DNS server that never answers, mailward with an
# inbound policy behind a private Postfix, and sending one message and
# reading back what became of it.  The caller sources tap.sh, dns-lib.sh
# and postfix-lib.sh first and sets top, build, mw and work.
#
#   ib_keys                      RSA and Ed25519 keys in $work/keys; sets
#                                IB_RSA_PUB and IB_ED_PUB (p= values)
#   ib_publish_keys DOMAIN...    rsa._domainkey and ed._domainkey records
#   ib_silent_start ADDR         UDP and TCP port 53 on ADDR: never answers
#   ib_sign SPEC FILE            sign FILE in place; SPEC is a comma list,
#                                applied in order (the last is on top):
#                                  py:ALG:DOMAIN   dkimpy
#                                  od:ALG:DOMAIN   OpenDKIM (opendkim -t)
#                                  mw:ALG:DOMAIN   mailward's signer, x= one
#                                                  hour in the past (expired)
#                                  tamper          change the body afterwards
#                                ALG is rsa or ed (selectors rsa and ed);
#                                IB_SIGN_HEADERS=a:b:c picks dkimpy's h=
#   ib_mailward_start CONF_TEXT  write $state/mailward.conf, start mailward
#                                as the milter of Postfix; sets mw_pid
#   ib_reload CONF_TEXT          rewrite the policy, SIGHUP, wait until it is in
#   ib_send CLIENT SENDER FILE [SWAKS_ARGS...]
#                                swaks FILE as it is (no header added) from
#                                CLIENT; sets IB_REPLY (the reply to the end of
#                                DATA: "250", "550 5.7.1", "451 4.7.0"...),
#                                IB_QID, IB_MS (milliseconds), IB_WHERE (sink,
#                                hold, refused or lost) and IB_HEADERS (a file:
#                                the header fields mailward added, unfolded,
#                                when the message was delivered or held)
#   ib_summary QID               mailward's summary lines for QID
#   ib_alive                     mailward runs (not a zombie), logged nothing fatal

# Variables come from the caller (work, build, mw) or are for it (IB_*).
# shellcheck disable=SC2034,SC2154

IB_AUTHSERV=mx.inbound.test

ib_keys() {
	mkdir -p "$work/keys"
	openssl genrsa -traditional -out "$work/keys/rsa.pem" 2048 2>/dev/null
	openssl genpkey -algorithm ed25519 -out "$work/keys/ed.pem" 2>/dev/null
	chmod 600 "$work/keys/"*.pem
	IB_RSA_PUB=$(openssl rsa -in "$work/keys/rsa.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
	IB_ED_PUB=$(openssl pkey -in "$work/keys/ed.pem" -pubout -outform DER | tail -c 32 | base64 -w0)
	# dkimpy takes the Ed25519 key as its 32-byte seed, base64.
	openssl pkey -in "$work/keys/ed.pem" -outform DER | tail -c 32 | base64 -w0 >"$work/keys/ed.seed"
	cat >"$work/keys/sign.py" <<'PY'
import os, sys, dkim
path, alg, domain, rsa, seed = sys.argv[1:6]
# IB_SIGN_HEADERS (colon separated) picks the signed fields; default dkimpy's.
signed = os.environ.get("IB_SIGN_HEADERS")
include = [h.encode() for h in signed.split(":")] if signed else None
msg = open(path, "rb").read()
ed = alg == "ed"
key = open(seed, "rb").read().strip() if ed else open(rsa, "rb").read()
sig = dkim.sign(msg, alg.encode(), domain.encode(), key,
                signature_algorithm=b"ed25519-sha256" if ed else b"rsa-sha256",
                canonicalize=(b"relaxed", b"simple"), include_headers=include)
sys.stdout.buffer.write(sig + msg)
PY
}

ib_publish_keys() {
	local d
	for d in "$@"; do
		dns_txt "rsa._domainkey.$d" "v=DKIM1; k=rsa; p=$IB_RSA_PUB"
		dns_txt "ed._domainkey.$d" "v=DKIM1; k=ed25519; p=$IB_ED_PUB"
	done
}

IB_SILENT_PID=
ib_silent_start() {
	cat >"$work/silent.py" <<'PY'
# Reads every DNS question, over UDP or TCP, and never answers.
import selectors, socket, sys
sel = selectors.DefaultSelector()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind((sys.argv[1], 53))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind((sys.argv[1], 53))
tcp.listen(64)
sel.register(udp, selectors.EVENT_READ)
sel.register(tcp, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        if key.fileobj is udp:
            udp.recvfrom(65535)
        elif key.fileobj is tcp:
            sel.register(tcp.accept()[0], selectors.EVENT_READ)
        elif not key.fileobj.recv(65535):
            sel.unregister(key.fileobj)
            key.fileobj.close()
PY
	/usr/bin/python3 "$work/silent.py" "$1" >"$work/silent.out" 2>&1 &
	IB_SILENT_PID=$!
	wait_until 10 grep -q ready "$work/silent.out"
}

# _ib_sign_one TOOL ALG DOMAIN FILE: FILE with one more signature on top.
_ib_sign_one() {
	local tool=$1 alg=$2 domain=$3 file=$4 algname=rsa-sha256
	[ "$alg" = ed ] && algname=ed25519-sha256
	case $tool in
	py)
		/usr/bin/python3 "$work/keys/sign.py" "$file" "$alg" "$domain" \
			"$work/keys/rsa.pem" "$work/keys/ed.seed" >"$file.new"
		;;
	od)
		printf 'Syslog no\nMode s\nRequireSafeKeys false\nSignatureAlgorithm %s\nCanonicalization relaxed/relaxed\nDomain %s\nSelector %s\nKeyFile %s\n' \
			"$algname" "$domain" "$alg" "$work/keys/$alg.pem" >"$work/keys/opendkim.conf"
		{
			opendkim -x "$work/keys/opendkim.conf" -t "$file" 2>/dev/null | sed '1d; s/\r$//; s/$/\r/'
			cat "$file"
		} >"$file.new"
		;;
	mw)
		"$build/tests/tools/dkim-sign-file" -t -7200 -x 3600 \
			-k "$work/keys/$alg.pem:$algname:$domain:$alg" <"$file" >"$file.new"
		;;
	esac
	if [ "$(grep -c '^DKIM-Signature:' "$file.new")" -le "$(grep -c '^DKIM-Signature:' "$file")" ]; then
		echo "inbound-lib: $tool could not sign $file" >&2
		return 1
	fi
	mv "$file.new" "$file"
}

ib_sign() {
	local spec=$1 file=$2 item tool alg domain
	[ "$spec" = - ] && return 0
	for item in ${spec//,/ }; do
		if [ "$item" = tamper ]; then
			sed -i 's/^Second line\./Second line, changed./' "$file"
			continue
		fi
		IFS=: read -r tool alg domain <<<"$item"
		_ib_sign_one "$tool" "$alg" "$domain" "$file" || return 1
	done
}

ib_mailward_start() {
	state=$work/mailward
	mkdir -p "$state"
	chown mailward:mailward "$state"
	mw_port=$(pf_free_ports 1)
	printf 'daemon = { socket = "inet:%s@127.0.0.1"; user = "mailward"; };\n%s\n' \
		"$mw_port" "$1" >"$state/mailward.conf"
	"$mw" -f -c "$state/mailward.conf" 2>"$state/log" &
	mw_pid=$!
	wait_until 10 bash -c "ss -ltn | grep -q '127.0.0.1:$mw_port '" || return 1
	pf_conf "smtpd_milters = inet:127.0.0.1:$mw_port" "milter_default_action = tempfail"
}

ib_reload() {
	local before
	before=$(grep -c 'reload: policy .* installed' "$state/log")
	printf 'daemon = { socket = "inet:%s@127.0.0.1"; user = "mailward"; };\n%s\n' \
		"$mw_port" "$1" >"$state/mailward.conf"
	kill -HUP "$mw_pid"
	wait_until 10 bash -c "[ \$(grep -c 'reload: policy .* installed' '$state/log') -gt $before ]"
}

# The header fields of a message on stdin, one per line (folds joined).
_ib_unfold() {
	awk '/^\r?$/ { exit }
	     /^[ \t]/ { sub(/^[ \t]+/, " "); sub(/\r$/, ""); field = field $0; next }
	     { sub(/\r$/, ""); if (field != "") print field; field = $0 }
	     END { if (field != "") print field }'
}

# What mailward added to a message: its Authentication-Results, Received-SPF
# and quarantine header (matched by authserv-id or name).
_ib_ours() {
	_ib_unfold | grep -E "^(Authentication-Results: $IB_AUTHSERV;|Received-SPF:|X-Mailward-Quarantine:)"
}

# The complete sink file of a queue ID (Postfix's Received names it).
_ib_sink_file_of() {
	local files
	files=$(sink_message_files)
	[ -n "$files" ] || return 1
	# shellcheck disable=SC2086
	grep -lE "with E?SMTP id $1([; ]|$)" $files 2>/dev/null | head -1 | grep .
}

_ib_arrived() {
	[ -e "$PF_QUEUE/hold/$1" ] || _ib_sink_file_of "$1" >/dev/null
}

ib_send() {
	local client=$1 sender=$2 file=$3 t0 rc=0 f
	shift 3
	SEND_SEQ=$((${SEND_SEQ:-0} + 1))
	SEND_LOG=$(printf '%s/send/%03d.log' "$PF_WORK" "$SEND_SEQ")
	IB_HEADERS=$SEND_LOG.headers
	: >"$IB_HEADERS"
	t0=$(now_us)
	timeout 60 swaks --server 127.0.0.1 --port "$PF_PORT" --local-interface "$client" \
		--timeout 30 --helo client.test.example --from "$sender" --to bob@rcpt.test \
		--data "@$file" "$@" </dev/null >"$SEND_LOG" 2>&1 || rc=$?
	IB_MS=$((($(now_us) - t0) / 1000))
	# The reply to the final dot: the first reply line after " -> .".
	IB_REPLY=$(sed -n '/^ *-> \.$/,$p' "$SEND_LOG" | grep -E '^<[-*~]+ +[245][0-9][0-9][ -]' | head -1 |
		sed -E 's/^<[-*~]+ +//; s/^(250) .*/\1/; s/^([45][0-9][0-9] [0-9.]+) .*/\1/')
	IB_QID=$(sed -n 's/.* queued as \([0-9A-F]*\).*/\1/p' "$SEND_LOG" | tail -1)
	if [ -z "$IB_QID" ]; then
		# Refused: smtpd logs "QID: milter-reject: END-OF-MESSAGE ... from=<sender>".
		pf_log_wait "milter-reject: END-OF-MESSAGE .*from=<$sender>" 10 >/dev/null
		IB_QID=$(sed -n "s/.*\]: \([0-9A-F]*\): milter-reject: END-OF-MESSAGE .*from=<$sender>.*/\1/p" \
			"$PF_LOG" | tail -1)
	fi
	IB_WHERE=lost
	if [ "$IB_REPLY" != 250 ]; then
		IB_WHERE=refused
	elif wait_until 15 _ib_arrived "$IB_QID"; then
		if [ -e "$PF_QUEUE/hold/$IB_QID" ]; then
			IB_WHERE=hold
			postcat -c "$PF_DIR" -hq "$IB_QID" 2>/dev/null | _ib_ours >"$IB_HEADERS"
		else
			IB_WHERE=sink
			f=$(_ib_sink_file_of "$IB_QID")
			sink_message "$f" | _ib_ours >"$IB_HEADERS"
		fi
	fi
	return "$rc"
}

ib_summary() {
	[ -n "$1" ] && grep -E "info: $1: inbound " "$state/log"
}

ib_alive() {
	pid_alive "$mw_pid" && ! grep -qE 'fatal|panic' "$state/log"
}

# ib_work NAME: a work directory, and a trap that stops everything the
# test started (mailward, the silent DNS server, Postfix, NSD) and removes
# it (KEEP_WORK=1 keeps it).  Sets work, mw_pid, t_start.
ib_work() {
	work=$(mktemp -d "/tmp/mw-$1.XXXXXX")
	chmod 755 "$work"
	mw_pid=
	trap _ib_cleanup EXIT
	t_start=$(now_us)
}
_ib_cleanup() {
	[ -n "$mw_pid" ] && { kill -9 "$mw_pid" && wait "$mw_pid"; } 2>/dev/null
	[ -n "${IB_SILENT_PID:-}" ] && { kill "$IB_SILENT_PID" && wait "$IB_SILENT_PID"; } 2>/dev/null
	pf_cleanup
	dns_cleanup
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
