# shellcheck shell=bash
# proc.sh - waiting and process helpers shared by the test libraries (sourced)
#
#   now_us                   microseconds since the epoch
#   wait_until SECONDS CMD…  run CMD every 0.1 s until it succeeds (0) or
#                            SECONDS have passed (1); CMD runs at least once
#   pid_alive PID            the process exists and is not a zombie (kill -0
#                            succeeds on a zombie, and in containers PID 1 may
#                            be slow to reap a daemon's orphans)

now_us() {
	local t=${EPOCHREALTIME//[!0-9]/}
	printf '%s' "$t"
}

wait_until() {
	local secs=${1:?wait_until SECONDS COMMAND...}
	shift
	if [[ ! $secs =~ ^[0-9]+$ ]]; then
		echo "wait_until: SECONDS must be an integer: $secs" >&2
		return 2
	fi
	local deadline=$(($(now_us) + secs * 1000000))
	while :; do
		"$@" && return 0
		(($(now_us) >= deadline)) && return 1
		sleep 0.1
	done
}

pid_alive() {
	local st
	[[ ${1:-} =~ ^[0-9]+$ ]] || return 1
	read -r st 2>/dev/null <"/proc/$1/stat" || return 1
	st=${st##*) }
	st=${st%% *}
	[[ $st != Z && $st != X ]]
}
