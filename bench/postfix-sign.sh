#!/bin/bash
# bench/postfix-sign.sh - DKIM signing throughput of mailward and OpenDKIM
# measured through a real Postfix:
#
#     smtp-source -> private Postfix (smtpd_milters) -> smtp-sink
#
# for each system (no milter, OpenDKIM, mailward with RSA, Ed25519, both)
# in the same run, on the same machine state.  See bench/README.
#
# Everything runs on loopback (127.0.0.1); everything started is stopped on
# exit; every wait is bounded.  Needs root (Postfix's master needs it).
set -u -o pipefail

usage() {
	cat <<'EOF'
Usage: bench/postfix-sign.sh [OPTION]...

Pushes N messages through a private Postfix with smtpd_milters pointing at
each system in turn and prints a Markdown table (also written to
bench/results/postfix-sign-DATE.md).

  -n N              messages per measured run (default 2000)
  -c C              parallel SMTP sessions, smtp-source -s (default 8)
  -S SIZES          message body size(s) in KiB, comma separated (default 3,100)
  -r R              repeats per cell; the table shows medians (default 1)
  --systems LIST    comma separated, from: none opendkim mailward-rsa
                    mailward-ed25519 mailward-dual (default: all five)
  --work DIR        work directory (default: a new /tmp/mailward-postfix-bench.XXXXXX);
                    an old one from a finished run is wiped; removed at exit
  --keep            keep the work directory (logs, sink sample, configs)
  --quick           a smoke run: n=300, 20 warm-up, 5 sample, 30 latency
  --warmup W        warm-up messages before each measured run (default 50)
  --sample K        messages dumped by the sink and verified with dkimpy
                    before the throughput runs, per system and size (default 20)
  --latency L       messages of the sequential latency probe after each
                    throughput run; 0 to skip it (default 200)
  --durability D    mailward events.durability: fsync (default, the
                    product's default) or none
  --transport T     milter socket: inet (default, 127.0.0.1) or unix
  --no-install      do not install missing Debian packages
  -h, --help        this help

Environment: MAILWARD (default: the mailward binary of this tree).
EOF
}

die() {
	printf 'postfix-sign: %s\n' "$*" >&2
	exit 1
}
note() { printf 'postfix-sign: %s\n' "$*" >&2; }

# ------------------------------------------------------------------ options
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
MAILWARD=${MAILWARD:-$top/mailward}
PY=/usr/bin/python3
ALL_SYSTEMS=none,opendkim,mailward-rsa,mailward-ed25519,mailward-dual

N='' C=8 SIZES=3,100 R=1 SYSTEMS=$ALL_SYSTEMS WORK=''
WARMUP='' SAMPLE='' LAT='' DURABILITY=fsync KEEP=0 QUICK=0 INSTALL=1 TRANSPORT=inet
while (($# > 0)); do
	case $1 in
	-n) N=${2:?}; shift ;;
	-c) C=${2:?}; shift ;;
	-S) SIZES=${2:?}; shift ;;
	-r) R=${2:?}; shift ;;
	--systems) SYSTEMS=${2:?}; shift ;;
	--work) WORK=${2:?}; shift ;;
	--keep) KEEP=1 ;;
	--quick) QUICK=1 ;;
	--warmup) WARMUP=${2:?}; shift ;;
	--sample) SAMPLE=${2:?}; shift ;;
	--latency) LAT=${2:?}; shift ;;
	--durability) DURABILITY=${2:?}; shift ;;
	--transport) TRANSPORT=${2:?}; shift ;;
	--no-install) INSTALL=0 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 64 ;;
	esac
	shift
done
if ((QUICK)); then
	: "${N:=300}" "${WARMUP:=20}" "${SAMPLE:=5}" "${LAT:=30}"
fi
: "${N:=2000}" "${WARMUP:=50}" "${SAMPLE:=20}" "${LAT:=200}"
for v in N C R WARMUP SAMPLE LAT; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number: ${!v}"
done
((N > 0 && C > 0 && R > 0)) || die "-n, -c and -r must be positive"
[[ $SIZES =~ ^[0-9]+(,[0-9]+)*$ ]] || die "-S takes KiB sizes like 3,100"
[[ $DURABILITY == fsync || $DURABILITY == none ]] || die "--durability: fsync or none"
[[ $TRANSPORT == inet || $TRANSPORT == unix ]] || die "--transport: inet or unix"
IFS=, read -r -a sizes <<<"$SIZES"
IFS=, read -r -a systems <<<"$SYSTEMS"
for s in "${systems[@]}"; do
	[[ ,$ALL_SYSTEMS, == *,"$s",* ]] || die "unknown system: $s (known: $ALL_SYSTEMS)"
done
[[ -z $WORK || $WORK == /* ]] || WORK=$PWD/$WORK

# ------------------------------------------------------------ dependencies
(($(id -u) == 0)) || die "must run as root (Postfix's master needs it)"

need_pkgs=()
have_pkg() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'; }
for p in postfix swaks opendkim python3 python3-dkim python3-nacl; do
	have_pkg "$p" || need_pkgs+=("$p")
done
if ((${#need_pkgs[@]} > 0)); then
	((INSTALL)) || die "missing Debian packages: ${need_pkgs[*]} (apt-get install -y ${need_pkgs[*]})"
	note "installing ${need_pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# "No configuration": no /etc/postfix/main.cf, so no system Postfix starts.
	echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
	if ! apt-get update -qq || ! apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null; then
		die "apt-get install ${need_pkgs[*]} failed"
	fi
fi
getent passwd mailward >/dev/null || die "no mailward user (run tools/deps)"
getent passwd opendkim >/dev/null || die "no opendkim user (is the opendkim package installed?)"
if [[ ! -x $MAILWARD ]]; then
	note "building mailward (tools/build)"
	"$top/tools/build" || die "tools/build failed"
fi

# shellcheck source=../tests/e2e/postfix-lib.sh
. "$top/tests/e2e/postfix-lib.sh"

# ---------------------------------------------------------------- work dir
# A fresh directory per run by default, so that two runs (say, from two
# sessions) never share a Postfix instance or wipe each other's files.
if [[ -z $WORK ]]; then
	WORK=$(mktemp -d /tmp/mailward-postfix-bench.XXXXXX) || die "mktemp failed"
elif [[ -e $WORK ]]; then
	if [[ -f $WORK/.postfix-lib-workdir ]]; then
		# Never wipe the directory of a run that is still going.
		if [[ -r $WORK/spool/pid/master.pid ]] &&
			pid_alive "$(cat "$WORK/spool/pid/master.pid" 2>/dev/null)"; then
			die "$WORK belongs to a run in progress (its Postfix is running)"
		fi
		rm -rf -- "$WORK" || die "cannot remove the old $WORK"
	elif [[ -n $(ls -A "$WORK" 2>/dev/null) ]]; then
		die "$WORK exists and was not made by this script; choose another --work"
	fi
fi

MILTER_PID='' MILTER_NAME='' COUNT_PID=''
stop_pid() { # PID NAME: TERM, bounded wait, KILL; only a process we started
	local pid=$1
	[[ -n $pid ]] || return 0
	if pid_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		if ! wait_until 15 _pf_pid_gone "$pid"; then
			note "$2 ($pid) did not stop on TERM; killing it"
			kill -KILL "$pid" 2>/dev/null
			wait_until 5 _pf_pid_gone "$pid" || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	stop_pid "$MILTER_PID" "$MILTER_NAME"
	MILTER_PID=
	stop_pid "$COUNT_PID" "counting smtp-sink"
	COUNT_PID=
	KEEP_WORK=$KEEP pf_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

PF_IPV6=0
pf_setup "$WORK" || die "pf_setup failed"
B=$PF_WORK/bench
mkdir -p "$B/keys" "$B/run" "$B/sample" "$B/mailward" || die "mkdir failed"
read -r MILTER_PORT COUNT_PORT <<<"$(pf_free_ports 2)" || die "no free ports"
[[ -n $COUNT_PORT ]] || die "no free ports"
# Unix sockets: one directory per milter, writable by the user that creates
# the socket (OpenDKIM creates it after dropping to user opendkim).
OD_SOCK=$B/sock-opendkim/milter.sock MW_SOCK=$B/sock-mailward/milter.sock
if [[ $TRANSPORT == inet ]]; then
	OD_SOCKET=inet:$MILTER_PORT@127.0.0.1 MW_SOCKET=inet:$MILTER_PORT@127.0.0.1
	MILTER_WHERE=127.0.0.1:$MILTER_PORT
else
	install -d -o opendkim -g opendkim -m 755 "$B/sock-opendkim" || die "mkdir failed"
	install -d -m 755 "$B/sock-mailward" || die "mkdir failed"
	OD_SOCKET=local:$OD_SOCK MW_SOCKET=unix:$MW_SOCK
	MILTER_WHERE="$OD_SOCK, $MW_SOCK"
fi
TCK=$(getconf CLK_TCK)
SENDER=bench@example.com
RCPT=rcpt@example.net

# A private copy of the binary: a rebuild of the tree during the run must
# not mix two versions in one report.
MW_SRC=$MAILWARD
MW_BUILT=$(date -u -r "$MW_SRC" '+%Y-%m-%d %H:%M:%S UTC')
MW_SHA=$(sha256sum "$MW_SRC" | cut -c1-12)
MAILWARD=$B/mailward.bin
install -m 755 "$MW_SRC" "$MAILWARD" || die "cannot copy $MW_SRC"

# -------------------------------------------------------------------- keys
"$MAILWARD" keygen -o "$B/keys" example.com mwrsa >"$B/keys/mwrsa.txt" ||
	die "mailward keygen (RSA) failed"
"$MAILWARD" keygen -a ed25519-sha256 -o "$B/keys" example.com mwed >"$B/keys/mwed.txt" ||
	die "mailward keygen (Ed25519) failed"
RSA_KEY=$B/keys/example.com.mwrsa.pem
ED_KEY=$B/keys/example.com.mwed.pem
# The same RSA key for OpenDKIM, in a copy its own user can read
# (mailward keygen makes the key mode 600, owned by mailward).
mkdir -p "$B/keys/opendkim"
if ! install -o opendkim -g opendkim -m 600 "$RSA_KEY" "$B/keys/opendkim/mwrsa.pem" ||
	! cmp -s "$RSA_KEY" "$B/keys/opendkim/mwrsa.pem"; then
	die "cannot copy the RSA key for OpenDKIM"
fi
if ! grep -q 'k=rsa' "$B/keys/mwrsa.txt" || ! grep -q 'k=ed25519' "$B/keys/mwed.txt"; then
	die "unexpected keygen output"
fi

# ------------------------------------------------------------ milter setup
cat >"$B/opendkim.conf" <<EOF
# OpenDKIM signing with the same RSA-2048 key as mailward-rsa
Syslog                  no
Background              no
Mode                    s
Domain                  example.com
Selector                mwrsa
KeyFile                 $B/keys/opendkim/mwrsa.pem
# the key lives under /tmp (or another --work), which OpenDKIM may call unsafe
RequireSafeKeys         false
Canonicalization        relaxed/relaxed
SignatureAlgorithm      rsa-sha256
InternalHosts           127.0.0.0/8
Socket                  $OD_SOCKET
# a unix socket must be reachable by Postfix's smtpd (user postfix)
UMask                   000
UserID                  opendkim
EOF

mw_dom_rsa="{ domain = \"example.com\"; selector = \"mwrsa\"; key = \"$RSA_KEY\"; algorithm = \"rsa-sha256\"; }"
mw_dom_ed="{ domain = \"example.com\"; selector = \"mwed\"; key = \"$ED_KEY\"; algorithm = \"ed25519-sha256\"; }"
chown mailward:mailward "$B/mailward"
write_mw_policy() { # NAME DOMAINS
	cat >"$B/$1.conf" <<EOF
# mailward signing policy for bench/postfix-sign.sh ($1)
daemon = { socket = "$MW_SOCKET"; user = "mailward"; socket_group = "postfix"; };
log = { to = "stderr"; level = "info"; };
trusted_networks = [ "127.0.0.0/8" ];
events = { spool_dir = "$B/mailward/spool"; durability = "$DURABILITY"; };
store = { path = "$B/mailward/state/mailward.db"; };
inbound = { mode = "off"; };
signing = { header_canonicalization = "relaxed"; body_canonicalization = "relaxed"; };
domains = ( $2 );
EOF
	"$MAILWARD" -n -c "$B/$1.conf" >"$B/run/$1.check" 2>&1 ||
		die "mailward -n rejects $B/$1.conf: $(cat "$B/run/$1.check")"
}
write_mw_policy mailward-rsa "$mw_dom_rsa"
write_mw_policy mailward-ed25519 "$mw_dom_ed"
write_mw_policy mailward-dual "$mw_dom_rsa, $mw_dom_ed"

expect_sigs() { # SYSTEM: signatures each message should carry
	case $1 in none) echo 0 ;; mailward-dual) echo 2 ;; *) echo 1 ;; esac
}

start_milter() { # SYSTEM
	local sys=$1 log=$B/run/$1.log
	MILTER_NAME=$sys
	rm -f "$OD_SOCK" "$MW_SOCK"
	case $sys in
	none) return 0 ;;
	opendkim) opendkim -f -x "$B/opendkim.conf" </dev/null >>"$log" 2>&1 & ;;
	mailward-*) "$MAILWARD" -f -c "$B/$sys.conf" </dev/null >>"$log" 2>&1 & ;;
	esac
	MILTER_PID=$!
	if ! wait_until 15 milter_listening || ! pid_alive "$MILTER_PID"; then
		note "$sys did not start listening on $(milter_spec "$sys"); its log:"
		tail -n 20 "$log" >&2
		return 1
	fi
}

stop_milter() {
	stop_pid "$MILTER_PID" "$MILTER_NAME"
	MILTER_PID=
	# Keep the event spool from growing across runs.
	if [[ -d $B/mailward/spool/new ]]; then
		find "$B/mailward/spool/new" -type f -delete
	fi
}

milter_listening() {
	if [[ $TRANSPORT == inet ]]; then
		_pf_port_listening "$MILTER_PORT"
	else
		local sock
		sock=$(milter_spec "$MILTER_NAME")
		sock=${sock#unix:}
		[[ -S $sock ]] && ss -lx | grep -qF " $sock "
	fi
}

milter_spec() { # SYSTEM: smtpd_milters value
	[[ $1 == none ]] && return 0
	if [[ $TRANSPORT == inet ]]; then
		printf 'inet:127.0.0.1:%s' "$MILTER_PORT"
	elif [[ $1 == opendkim ]]; then
		printf 'unix:%s' "$OD_SOCK"
	else
		printf 'unix:%s' "$MW_SOCK"
	fi
}

# ----------------------------------------------------------- Postfix setup
# Every DKIM-Signature a milter adds makes cleanup log one "info: header
# DKIM-Signature: ..." line with the queue ID: that counts the signed
# messages of a throughput run without dumping them.
printf '/^DKIM-Signature:/ INFO\n' >"$B/milter_header_checks"
procs=$((4 * C + 100))
pf_conf "default_process_limit = $procs" \
	"milter_protocol = 6" \
	"milter_default_action = tempfail" \
	"milter_header_checks = regexp:$B/milter_header_checks" \
	"smtpd_client_connection_count_limit = 0" \
	"smtpd_client_event_limit_exceptions = 127.0.0.0/8" \
	"smtp_destination_concurrency_limit = 20" \
	"initial_destination_concurrency = 20" ||
	die "pf_conf failed"
sink_start || die "the dump sink did not start"
pf_start || die "Postfix did not start"

# The counting sink for the throughput runs: smtp-sink -c prints
# "sess=N quit=N mesg=N" at every "." (CR separated); a perl filter stamps
# every new message count with the time, so the last message's arrival is
# known to the microsecond without polling.
COUNT_LOG=$B/run/count-sink.tsv
: >"$COUNT_LOG"
smtp-sink -u postfix -c -a -C -F -h sink.test.example -t 60 -m 512 \
	"inet:127.0.0.1:$COUNT_PORT" 512 </dev/null 2>>"$B/run/count-sink.err" \
	> >(perl -MTime::HiRes=time -e '
		open(my $o, ">>", $ARGV[0]) or die "count log: $!";
		$o->autoflush(1);
		local $/ = "\r";
		my $last = -1;
		while (<STDIN>) {
			next unless /mesg=(\d+)/;
			next if $1 == $last;
			$last = $1;
			printf $o "%d %.6f\n", $1, time;
		}' "$COUNT_LOG") &
COUNT_PID=$!
wait_until 10 _pf_port_listening "$COUNT_PORT" || die "the counting smtp-sink did not start"

count_now() { # messages the counting sink has received so far
	local line
	line=$(tail -n 1 "$COUNT_LOG" 2>/dev/null)
	echo "${line%% *}" | grep -E '^[0-9]+$' || echo 0
}

# ------------------------------------------------------------- CPU helpers
proc_ticks() { # PID [children|split]: utime+stime (+cutime+cstime; or "utime stime")
	local st rest f
	read -r st 2>/dev/null <"/proc/$1/stat" || {
		echo 0
		return
	}
	rest=${st##*) }
	read -r -a f <<<"$rest"
	# f[0] is field 3 (state); utime=14 stime=15 cutime=16 cstime=17
	if [[ ${2:-} == children ]]; then
		echo $((f[11] + f[12] + f[13] + f[14]))
	elif [[ ${2:-} == split ]]; then
		echo "${f[11]} ${f[12]}"
	else
		echo $((f[11] + f[12]))
	fi
}
postfix_ticks() { # every daemon of the instance + what the master reaped
	local master total=0 p
	master=$(pf_master_pid) || {
		echo 0
		return
	}
	for p in $(_pf_instance_pids); do
		if [[ $p == "$master" ]]; then
			total=$((total + $(proc_ticks "$p" children)))
		else
			total=$((total + $(proc_ticks "$p")))
		fi
	done
	echo "$total"
}
machine_ticks() { # "busy all" from the first line of /proc/stat
	local u n s idle io irq sirq steal rest
	read -r _ u n s idle io irq sirq steal rest </proc/stat
	echo "$((u + n + s + irq + sirq + steal)) $((u + n + s + idle + io + irq + sirq + steal))"
}

# ------------------------------------------------------------ send helpers
run_source() { # COUNT SIZE_KB SESSIONS CPUFILE: smtp-source, bounded, CPU in CPUFILE
	local count=$1 size=$2 sess=$3 cpufile=$4 rc=0
	((sess > count)) && sess=$count
	# shellcheck disable=SC2016 # perl code
	timeout 3600 perl -e '
		my $out = shift @ARGV;
		my $rc = system(@ARGV);
		my @t = times;
		open(my $o, ">", $out) or die "$out: $!";
		printf $o "%.2f\n", $t[2] + $t[3];
		exit($rc == -1 ? 127 : ($rc & 127 ? 128 + ($rc & 127) : $rc >> 8));
	' "$cpufile" smtp-source -A -s "$sess" -m "$count" -l $((size * 1024)) \
		-M client.test.example -f "$SENDER" -t "$RCPT" -S "postfix-sign benchmark" \
		"127.0.0.1:$PF_PORT" </dev/null >>"$B/run/smtp-source.log" 2>&1 || rc=$?
	return "$rc"
}

wait_for_count() { # TARGET MAX_STALL_SECONDS: until the counting sink reached TARGET
	local target=$1 stall=$2 last=-1 since now c
	since=${EPOCHREALTIME%.*}
	while :; do
		c=$(count_now)
		((c >= target)) && return 0
		now=${EPOCHREALTIME%.*}
		if ((c != last)); then
			last=$c
			since=$now
		elif ((now - since >= stall)); then
			return 1
		fi
		sleep 0.1
	done
}

log_size() { stat -c %s "$PF_LOG" 2>/dev/null || echo 0; }

log_stats() { # OFFSET: signatures and deliveries logged after OFFSET
	# Prints: signatures, messages with >= 1, messages with >= 2, rsa, ed25519,
	# deliveries.  Queue IDs get reused within a run, so every smtpd
	# "QID: client=" line (a new transaction) starts a new message.
	tail -c +$(($1 + 1)) "$PF_LOG" | awk '
		{ q = $6; sub(/:$/, "", q) }
		/ postfix\/smtpd\[[0-9]+\]: [0-9A-F]+: client=/ { inst[q] = ++k }
		/ postfix\/cleanup\[[0-9]+\]: [0-9A-F]+: milter-header-info: header DKIM-Signature:/ {
			m = (q in inst) ? inst[q] : q
			n[m]++; sigs++
			if ($0 ~ /a=rsa-sha256/) rsa++; else if ($0 ~ /a=ed25519-sha256/) ed++
		}
		/ status=sent / { sent++ }
		END {
			for (m in n) { msgs++; if (n[m] >= 2) two++ }
			printf "%d %d %d %d %d %d\n", sigs + 0, msgs + 0, two + 0, rsa + 0, ed + 0, sent + 0
		}'
}

logged_all() { # OFFSET N: at least N deliveries logged after OFFSET
	local s
	s=$(log_stats "$1")
	((${s##* } >= $2))
}

pf_use() { # SYSTEM SINKPORT: point smtpd_milters at SYSTEM, relay to SINKPORT
	pf_conf "smtpd_milters = $(milter_spec "$1")" "relayhost = [127.0.0.1]:$2"
}

# ---------------------------------------------------------------- metadata
RUNS=$B/runs.tsv VERIFY=$B/verify.tsv META=$B/meta.txt
RUN_COLS=(size_kb system rep n delivered wall_s milter_ticks milter_user_ticks
	milter_sys_ticks postfix_ticks sink_ticks
	source_cpu_s machine_busy_ticks machine_all_ticks bg_busy_ticks bg_all_ticks sigs
	msgs_signed msgs_two_sigs rsa ed25519 expect_per_msg sent_log src_errors lat_ok
	lat_failed lat_p50 lat_p99)
VERIFY_COLS=(size_kb system expect msgs sigs verified failed rsa ed25519 min_sigs
	max_sigs ok)
declare -A rec=()
put_row() { # FILEVAR COLSVAR: append rec[] as one TSV row ("-" for unset)
	local -n file=$1 cols=$2
	local c out=()
	for c in "${cols[@]}"; do
		out+=("${rec[$c]:--}")
	done
	(
		IFS=$'\t'
		printf '%s\n' "${out[*]}"
	) >>"$file"
}
(
	IFS=$'\t'
	printf '%s\n' "${RUN_COLS[*]}" >"$RUNS"
	printf '%s\n' "${VERIFY_COLS[*]}" >"$VERIFY"
)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
{
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cpus=$(nproc)"
	echo "cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "kernel=$(uname -sr)"
	echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "postfix=$(postconf -d -h mail_version 2>/dev/null)"
	echo "opendkim=$(dpkg-query -W -f='${Version}' opendkim 2>/dev/null)"
	echo "mailward=$("$MAILWARD" -V 2>/dev/null | head -1) (binary $MW_SRC built $MW_BUILT, sha256 $MW_SHA; tree at $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?'))"
	echo "clk_tck=$TCK"
	echo "messages=$N"
	echo "sessions=$C"
	echo "repeats=$R"
	echo "warmup=$WARMUP"
	echo "sample=$SAMPLE"
	echo "latency=$LAT"
	echo "durability=$DURABILITY"
	echo "transport=$TRANSPORT"
	echo "work=$PF_WORK"
	echo "work_fs=$(df -T "$PF_WORK" | awk 'NR == 2 { print $2 }')"
	echo "sizes=$SIZES"
	echo "systems=$SYSTEMS"
} >"$META"

# --------------------------------------------- phase 1: are messages signed?
verify_system() { # SIZE SYSTEM
	local size=$1 sys=$2 expect dir f i=0 res ok=yes
	expect=$(expect_sigs "$sys")
	dir=$B/sample/$size-$sys
	mkdir -p "$dir"
	start_milter "$sys" || return 1
	pf_use "$sys" "$SINK_PORT" || return 1
	sink_clear
	run_source "$SAMPLE" "$size" "$C" "$B/run/cpu.tmp" || note "smtp-source exited $? (sample, $sys)"
	if ! sink_wait_count "$SAMPLE" 120; then
		note "$sys: only $(sink_count) of $SAMPLE sample messages arrived"
		ok=no
	fi
	stop_milter
	while IFS= read -r f; do
		i=$((i + 1))
		sink_message "$f" >"$dir/$(printf '%03d' "$i").eml"
	done < <(sink_message_files)
	res=$("$PY" "$here/lib/dkim_check.py" --domain example.com \
		--txt "mwrsa=$B/keys/mwrsa.txt" --txt "mwed=$B/keys/mwed.txt" \
		"$dir"/*.eml 2>"$dir/dkim_check.err") || ok=no
	# key=value -> variables
	local msgs=0 sigs=0 verified=0 failed=0 rsa=0 ed25519=0 min_sigs=0 max_sigs=0
	local kv
	for kv in $res; do
		case ${kv%%=*} in
		msgs | sigs | verified | failed | rsa | ed25519 | min_sigs | max_sigs)
			printf -v "${kv%%=*}" '%s' "${kv#*=}" ;;
		esac
	done
	((msgs == SAMPLE)) || ok=no
	((min_sigs == expect && max_sigs == expect)) || ok=no
	# Cross-check dkimpy's count with a plain count of the header lines.
	local grepped
	grepped=$(cat "$dir"/*.eml 2>/dev/null | grep -ci '^DKIM-Signature:')
	((grepped == sigs)) || ok=no
	[[ $sys != none ]] && { ((verified == sigs && failed == 0)) || ok=no; }
	case $sys in
	opendkim | mailward-rsa) ((rsa == sigs)) || ok=no ;;
	mailward-ed25519) ((ed25519 == sigs)) || ok=no ;;
	mailward-dual) ((rsa == msgs && ed25519 == msgs)) || ok=no ;;
	esac
	rec=([size_kb]=$size [system]=$sys [expect]=$expect [msgs]=$msgs [sigs]=$sigs
		[verified]=$verified [failed]=$failed [rsa]=$rsa [ed25519]=$ed25519
		[min_sigs]=$min_sigs [max_sigs]=$max_sigs [ok]=$ok)
	put_row VERIFY VERIFY_COLS
	note "$size KB $sys: sample $msgs msgs, $sigs DKIM-Signature headers, $verified verified, check $ok"
	[[ $ok == yes ]] || sed 's/^/postfix-sign:   /' "$dir/dkim_check.err" | head -5 >&2
	return 0
}

# ---------------------------------------------- phase 2: throughput + CPU
measure() { # SIZE SYSTEM REP: one throughput run, then the latency probe
	local size=$1 sys=$2 rep=$3 base target t0 t1 rc kv
	local m0u=0 m0s=0 m1u=0 m1s=0 p0 p1 s0 s1 mb0 ma0 mb1 ma1 bgb0 bga0 bgb1 bga1 off lat=""
	local sigs msgs two rsa ed sent errs
	rec=([size_kb]=$size [system]=$sys [rep]=$rep [n]=$N [delivered]=0
		[expect_per_msg]=$(expect_sigs "$sys"))
	start_milter "$sys" || {
		put_row RUNS RUN_COLS
		return 1
	}
	pf_use "$sys" "$COUNT_PORT" || return 1
	# Warm-up: connections, process pools, milter threads, key caches.
	if ((WARMUP > 0)); then
		base=$(count_now)
		run_source "$WARMUP" "$size" "$C" "$B/run/cpu.tmp" || true
		wait_for_count $((base + WARMUP)) 30 || note "$sys: warm-up messages missing"
	fi
	pf_wait_queue_empty 60 || note "$sys: queue not empty before the run"
	# Background: what the rest of the machine (other sessions) uses while
	# this benchmark is idle, over one second just before the run.
	read -r bgb0 bga0 <<<"$(machine_ticks)"
	sleep 1
	read -r bgb1 bga1 <<<"$(machine_ticks)"
	base=$(count_now)
	target=$((base + N))
	off=$(log_size)
	: >"$B/run/smtp-source.log"
	[[ -n $MILTER_PID ]] && read -r m0u m0s <<<"$(proc_ticks "$MILTER_PID" split)"
	p0=$(postfix_ticks)
	s0=$(proc_ticks "$COUNT_PID")
	read -r mb0 ma0 <<<"$(machine_ticks)"
	t0=$EPOCHREALTIME
	run_source "$N" "$size" "$C" "$B/run/source-cpu.txt"
	rc=$?
	((rc == 0)) || note "$sys: smtp-source exited $rc"
	wait_for_count "$target" 60 || note "$sys: only $(($(count_now) - base)) of $N messages reached the sink"
	read -r mb1 ma1 <<<"$(machine_ticks)"
	[[ -n $MILTER_PID ]] && read -r m1u m1s <<<"$(proc_ticks "$MILTER_PID" split)"
	p1=$(postfix_ticks)
	s1=$(proc_ticks "$COUNT_PID")
	rec[delivered]=$(($(count_now) - base))
	((rec[delivered] > N)) && rec[delivered]=$N
	# t1: when the sink counted the N-th message (or the last one it got).
	t1=$(awk -v t="$((base + rec[delivered]))" '$1 >= t { print $2; exit }' "$COUNT_LOG")
	[[ -n $t1 ]] || t1=$EPOCHREALTIME
	rec[wall_s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	rec[source_cpu_s]=$(cat "$B/run/source-cpu.txt" 2>/dev/null || echo 0)
	errs=$(grep -c . "$B/run/smtp-source.log" 2>/dev/null) || errs=0
	rec[src_errors]=$errs
	if [[ $sys != none ]]; then
		rec[milter_user_ticks]=$((m1u - m0u)) rec[milter_sys_ticks]=$((m1s - m0s))
		rec[milter_ticks]=$((m1u - m0u + m1s - m0s))
	fi
	rec[postfix_ticks]=$((p1 - p0))
	rec[sink_ticks]=$((s1 - s0))
	rec[machine_busy_ticks]=$((mb1 - mb0)) rec[machine_all_ticks]=$((ma1 - ma0))
	rec[bg_busy_ticks]=$((bgb1 - bgb0)) rec[bg_all_ticks]=$((bga1 - bga0))
	# Postfix logs asynchronously (postlogd): wait until every delivery is logged.
	wait_until 30 logged_all "$off" "${rec[delivered]}" ||
		note "$sys: Postfix logged fewer deliveries than the sink counted"
	read -r sigs msgs two rsa ed sent <<<"$(log_stats "$off")"
	rec[sigs]=$sigs rec[msgs_two_sigs]=$two rec[rsa]=$rsa rec[ed25519]=$ed rec[sent_log]=$sent
	rec[msgs_signed]=$msgs
	[[ ${rec[expect_per_msg]} == 2 ]] && rec[msgs_signed]=$two
	# Latency probe: sequential, one message per session, on the idle system.
	if ((LAT > 0)); then
		pf_wait_queue_empty 60 || true
		lat=$("$PY" "$here/lib/smtp_latency.py" 127.0.0.1 "$PF_PORT" "$LAT" "$size" \
			"$SENDER" "$RCPT" 2>>"$B/run/latency.err")
		for kv in $lat; do
			case ${kv%%=*} in
			ok) rec[lat_ok]=${kv#*=} ;;
			failed) rec[lat_failed]=${kv#*=} ;;
			p50_ms) rec[lat_p50]=${kv#*=} ;;
			p99_ms) rec[lat_p99]=${kv#*=} ;;
			esac
		done
	fi
	stop_milter
	put_row RUNS RUN_COLS
	note "$size KB $sys #$rep: ${rec[delivered]}/$N in ${rec[wall_s]}s, $sigs sigs;" \
		"CPU ticks: milter ${rec[milter_ticks]:--}, Postfix ${rec[postfix_ticks]}," \
		"sink ${rec[sink_ticks]}, machine $((mb1 - mb0))/$((ma1 - ma0))," \
		"background $((bgb1 - bgb0))/$((bga1 - bga0)); latency ${lat:-not measured}"
}

# --------------------------------------------------------------------- run
note "work dir $PF_WORK; Postfix on 127.0.0.1:$PF_PORT, milters on $MILTER_WHERE, sinks on $SINK_PORT (dump) and $COUNT_PORT (count)"
for size in "${sizes[@]}"; do
	if ((SAMPLE > 0)); then
		for sys in "${systems[@]}"; do
			verify_system "$size" "$sys" || {
				stop_milter
				note "$size KB $sys: signature check could not run"
			}
		done
	fi
	for ((rep = 1; rep <= R; rep++)); do
		for sys in "${systems[@]}"; do
			measure "$size" "$sys" "$rep" || {
				stop_milter
				note "$size KB $sys #$rep: measurement failed"
			}
		done
	done
done

mkdir -p "$here/results"
report=$here/results/postfix-sign-$stamp.md
"$PY" "$here/lib/report.py" "$META" "$RUNS" "$VERIFY" >"$report.tmp" || die "report.py failed"
{
	cat "$report.tmp"
	echo
	echo "<details><summary>raw data (runs.tsv, verify.tsv)</summary>"
	echo
	echo '```'
	cat "$RUNS"
	echo
	cat "$VERIFY"
	echo '```'
	echo
	echo '</details>'
} >"$report"
cat "$report.tmp"
rm -f "$report.tmp"
note "report: $report"
