# shellcheck shell=bash
# dns-lib.sh - run a private, throw-away authoritative DNS server (NSD) on a
# loopback address, so tests can publish DKIM keys (and any other record)
# and have real DNS clients fetch them.
#
# Source it from a bash test script:
#
#     . "$(dirname "$0")/../lib/dns-lib.sh"
#     work=$(mktemp -d)
#     trap 'dns_cleanup; rm -rf "$work"' EXIT
#     dns_setup "$work/dns"                # 127.0.53.2:53 by default
#     dns_zone example.com
#     dns_txt rsa._domainkey.example.com "v=DKIM1; k=rsa; p=MIIBIjAN..."
#     dns_start
#     dns_record www.example.com A 192.0.2.1
#     dns_reload                           # records added after the start
#     dns_query www.example.com A          # -> 192.0.2.1
#     dns_resolv_conf_run opendkim-testmsg <signed.eml
#
# ---------------------------------------------------------------------------
# Installing the dependencies (Debian 12, root, non-interactive)
# ---------------------------------------------------------------------------
#
#     apt-get install -y nsd libnet-dns-perl
#
#   nsd              the server, nsd-control, nsd-checkconf, nsd-checkzone
#   libnet-dns-perl  dns_query and the readiness checks (Net::DNS; also a
#                    dependency of libmail-dkim-perl)
#   util-linux, perl, coreutils, grep: always there (unshare and mount for
#                    dns_resolv_conf_run).  dig (bind9-dnsutils) is NOT needed.
#
# The DKIM verifiers next to this file (dkim-verify.py, dkim-verify.pl,
# dkim-verify-opendkim.sh) and dns-selftest.sh additionally need:
#
#     apt-get install -y python3-dkim python3-dnspython python3-nacl \
#         libmail-dkim-perl opendkim-tools openssl
#
#   python3-dkim      dkimpy (depends on python3-dnspython and python3-nacl;
#                     nacl is what verifies/signs ed25519-sha256)
#   libmail-dkim-perl Mail::DKIM (pulls in libnet-dns-perl)
#   opendkim-tools    opendkim-testmsg (libopendkim11, system resolver)
#   openssl           key generation in the selftest
#
# Installing "nsd" on a host that runs systemd starts the system NSD with
# /etc/nsd/nsd.conf, which listens on the wildcard address, port 53; that
# makes binding 127.0.53.2:53 fail (EADDRINUSE).  Stop it for good with
# "systemctl disable --now nsd" (or mask it before installing).  In a
# container without systemd nothing is started.  systemd-resolved's
# 127.0.0.53 and 127.0.0.54 do not conflict with the default address.
#
# ---------------------------------------------------------------------------
# Requirements and behaviour
# ---------------------------------------------------------------------------
#
# * Root is needed for port 53 (the default) and for dns_resolv_conf_run
#   (mount namespace).  With DNS_PORT >= 1024 everything except
#   dns_resolv_conf_run works unprivileged.  No stdin/TTY needed.
# * Only IPv4 loopback addresses (127.0.0.0/8) are accepted, so the server
#   never talks to anything but this host.  Linux answers on every
#   127.x.y.z without configuration.
# * One server per shell process (state is kept in global variables).
#   Several can run at the same time from different processes if each uses
#   its own address (or port): the DEFAULT ADDRESS 127.0.53.2 IS FIXED, so
#   a second concurrent copy must pick another one, e.g.
#   DNS_ADDR=127.0.53.3 (dns_setup's second argument or the environment).
#   dns_start fails with a clear message when ADDR:PORT is already taken.
# * All waits are bounded; every function returns non-zero on failure and
#   explains why on stderr (prefix "dns-lib:").  Functions work both with
#   and without the caller's "set -euo pipefail".  Call dns_start in the
#   main shell, not in $(...) or a subshell: NSD runs as a child of the
#   shell that started it, which reaps it in dns_stop.
# * The server is authoritative only (no recursion, no forwarding): a
#   query for a name outside the declared zones gets REFUSED.
#
# Layout of the work directory (DNS_DIR):
#
#     nsd.conf             generated (NSD_CONF); absolute paths everywhere
#     zones.list           declared zones, one per line
#     records/ZONE.rr      record lines added with dns_txt / dns_record
#     zones/ZONE.zone      generated zone files (SOA + NS + records)
#     serial/ZONE          SOA serial of the last generated zone file
#     dirty/ZONE           zone changed since it was last loaded
#     nsd.log              NSD's log (DNS_LOG), verbosity 1
#     nsd.out              NSD's stdout/stderr
#     nsd.pid              NSD's pid file
#     nsd.ctl              nsd-control unix socket (no TCP control port,
#                          no TLS keys)
#     resolv.conf          for dns_resolv_conf_run
#     zone.list, xfrd.state, nsd-xfr-PID/   NSD's own state (unused)
#
# NSD configuration: ip-address ADDR@PORT, do-ip4 only, one server
# process, username "" (stays root, reads the root-owned files), no chroot,
# database "" (zones are read from the zone files, nothing is compiled),
# zonefiles-write 0, remote control on the unix socket only.  Every zone
# file starts with
#
#     $ORIGIN ZONE.
#     $TTL 60
#     ZONE. IN SOA ns.ZONE. hostmaster.ZONE. SERIAL 3600 900 604800 60
#     ZONE. IN NS ns.ZONE.
#     ns.ZONE. IN A DNS_ADDR
#
# followed by the records in the order they were added.  SERIAL starts at
# 1 and grows by one each time the zone file is regenerated; dns_start and
# dns_reload wait until NSD answers the SOA query with the new serial, which
# proves the new records are being served.
#
# ---------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------
#
# dns_setup WORKDIR [ADDR]
#     Create WORKDIR (must be missing, empty, or an old dns-lib work dir,
#     which is then wiped), write nsd.conf with no zones.  ADDR defaults to
#     $DNS_ADDR if set, else 127.0.53.2; the port is $DNS_PORT if set, else
#     53 ("DNS_PORT=5353 dns_setup DIR" works too).  Sets the globals
#     DNS_ADDR, DNS_PORT, DNS_DIR, DNS_CONF, DNS_LOG.  Starts nothing.  A
#     server from a previous dns_setup in this shell is stopped first.
# dns_zone ZONE
#     Declare an authoritative zone (with the SOA/NS/A records above).
#     Names are case-insensitive and stored in lower case; a trailing dot
#     is optional.  Declaring a zone twice is a no-op.  Before dns_start it
#     is simply loaded at start; while running it is added by dns_reload
#     (nsd-control reconfig).
# dns_txt NAME TEXT [TEXT...]
#     Add ONE TXT record at NAME.  Each TEXT longer than 255 bytes is split
#     into consecutive character-strings of at most 255 bytes (bytes, not
#     characters), as a DKIM key record must be published; further TEXT
#     arguments become further character-strings of the same record (DKIM
#     verifiers concatenate them all).  '"' and '\' are escaped, bytes
#     outside printable ASCII are written as \DDD, so any text round-trips.
#     Calling it twice for one NAME makes two TXT records (an RRset of 2).
# dns_txt_of_zone_line FILE
#     Print the text of the "... IN TXT ..." zone-file line in FILE, its
#     quoted character-strings joined (what "mailward keygen" prints
#     for a DKIM key), ready for dns_txt.
# dns_record NAME TYPE RDATA...
#     Add a record of any type; the RDATA words are joined with spaces and
#     copied verbatim into the zone file (presentation format), e.g.
#         dns_record example.com MX "10 mx.example.com."
#         dns_record www.example.com AAAA 2001:db8::1
#         dns_record alias.example.com CNAME www.example.com.
#     Domain names inside RDATA must end with a dot, otherwise they are
#     relative to the zone.  Syntax errors show up at dns_start/dns_reload
#     (nsd-checkzone, whose message is shown): the zone is then not
#     (re)loaded - a running NSD keeps serving the previous version - and
#     as records cannot be removed, every later dns_start/dns_reload of that
#     zone fails too (a bug in the calling test, not a runtime condition).
#     For both: NAME (a wildcard "*.x" is allowed) must be inside a
#     declared zone; the longest matching zone gets the record.  Records can
#     be added before or after dns_start; after the start they are served
#     once dns_reload has returned successfully.
# dns_start
#     Generate all zone files, check them (nsd-checkzone) and the config
#     (nsd-checkconf), check that ADDR:PORT is free, run "nsd -d" in the
#     background and wait (max 15 s) until it answers the SOA query of every
#     zone with the current serial and nsd-control works.  No-op if running.
# dns_reload
#     Regenerate the zone files that changed since they were loaded, check
#     them, and if NSD runs: "nsd-control reconfig" when zones were
#     declared, "nsd-control reload ZONE" for each changed zone, then wait
#     (max 15 s) until every changed zone answers with its new serial.
#     Without a running server it only regenerates the files.  No-op when
#     nothing changed.
# dns_stop
#     SIGTERM to NSD, wait (max 10 s) for it and its children to exit, then
#     SIGKILL whatever is left of this instance (found by its nsd.conf path
#     in /proc/PID/cmdline).  No-op if not running.
# dns_running
#     Status 0 if this instance's NSD main process is alive.
# dns_cleanup
#     dns_stop, then remove DNS_DIR unless KEEP_WORK=1 (only a directory
#     that dns_setup initialised).  Never fails; idempotent.  For
#     "trap dns_cleanup EXIT" (or call it from the caller's EXIT trap).
# dns_query NAME TYPE
#     Ask DNS_ADDR:DNS_PORT (no recursion, UDP with TCP fallback, 2 s
#     timeout, 2 tries) and print the RDATA of each answer record of TYPE,
#     one per line, in presentation format; TXT records are printed as
#     their character-strings, each quoted, e.g.
#         "v=DKIM1; k=rsa; p=MIIB...(255 bytes)" "...rest"
#     Status: 0 answer(s) printed, 1 NODATA (name exists, no TYPE), 2
#     NXDOMAIN, 3 other rcode (REFUSED, SERVFAIL...; named on stderr),
#     4 no reply / error.  Works without dns_setup if DNS_ADDR (and
#     DNS_PORT) are set.
# dns_resolv_conf_run COMMAND [ARGS...]
#     Run COMMAND (an executable, not a shell function; use
#     "bash -c '...'" for pipelines) in a private mount namespace
#     (unshare --mount --propagation private) in which a generated
#     resolv.conf ("nameserver DNS_ADDR", "options timeout:2 attempts:2",
#     no search list) is bind-mounted over /etc/resolv.conf.  Programs using
#     the system resolver (glibc libresolv: res_query, getaddrinfo with
#     "hosts: files dns") then ask only our server.  Needs root and
#     DNS_PORT=53 (resolv.conf cannot name a port).  The mount exists only
#     inside the namespace, which disappears with the command, so the host
#     never sees it (a daemon the command leaves running keeps it alive).
#     Not covered: nscd or systemd-resolved caching through their own
#     sockets.  stdin/stdout/stderr are passed through.  Returns COMMAND's
#     status; 125 if the namespace could not be set up (explained on
#     stderr).  Works without dns_setup if DNS_ADDR is set (uses a
#     temporary resolv.conf).
# dns_diag [LINES]
#     Print the last LINES (default 30) lines of NSD's log and output to
#     stderr, prefixed "# " (TAP diagnostics).
#
# ---------------------------------------------------------------------------
# NSD notes found while writing this
# ---------------------------------------------------------------------------
# * nsd chdirs to zonesdir, and "nsd-control reconfig" re-reads the config
#   with the path NSD was started with: a relative "-c nsd.conf" makes
#   reconfig fail ("Could not open nsd.conf") while nsd-control still exits
#   0.  The library always passes absolute paths and checks reconfig's
#   output.
# * A unix-socket control-interface needs no nsd-control-setup keys.
# * "nsd-control reload ZONE" re-reads that zone file unconditionally (no
#   mtime check); NSD switches to the new data asynchronously, hence the
#   serial check.
# * NSD forks (xfrd, server processes); children of a killed main process
#   are reparented to PID 1, which in some containers never reaps them, so
#   liveness is checked in /proc/PID/stat (a zombie is dead).

# ---------------------------------------------------------------------------
# Internal helpers
# ---------------------------------------------------------------------------

# shellcheck source=proc.sh
. "$(dirname "${BASH_SOURCE[0]}")/proc.sh"

_dns_err() { printf 'dns-lib: %s\n' "$*" >&2; }

_DNS_DEFAULT_ADDR=127.0.53.2
_DNS_PID=${_DNS_PID:-}

_dns_need_setup() {
    if [[ -z ${DNS_DIR:-} || ! -f ${DNS_DIR:-}/.dns-lib-workdir ]]; then
        _dns_err "dns_setup has not been run"
        return 1
    fi
}

# _dns_instance_pids: every NSD process of this instance.  All of them
# (forked children too) have the argv "nsd -d -c DNS_CONF".
_dns_instance_pids() {
    local f p exe
    [[ -n ${DNS_CONF:-} ]] || return 0
    while IFS= read -r f; do
        p=${f#/proc/}
        p=${p%/cmdline}
        exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
        [[ ${exe##*/} == nsd ]] && printf '%s\n' "$p"
    done < <(grep -lszxF -- "$DNS_CONF" /proc/[0-9]*/cmdline 2>/dev/null)
    return 0
}

_dns_instance_gone() {
    [[ -z $(_dns_instance_pids) ]]
}

_dns_valid_addr() {
    local a=$1 o
    [[ $a =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
    for o in "${BASH_REMATCH[@]:1}"; do
        (( 10#$o <= 255 )) || return 1
    done
}

# _dns_norm NAME: lower case, no trailing dot; status 1 if not a host-ish
# name (letters, digits, "-", "_", optional leading "*." wildcard).
_dns_norm() {
    local n=${1,,}
    n=${n%.}
    [[ $n =~ ^(\*\.)?([a-z0-9_-]+\.)*[a-z0-9_-]+$ ]] || return 1
    (( ${#n} <= 253 )) || return 1
    printf '%s' "$n"
}

_dns_zones() {
    [[ -s $DNS_DIR/zones.list ]] || return 0
    cat -- "$DNS_DIR/zones.list"
}

# _dns_zone_of NAME: the longest declared zone containing NAME.
_dns_zone_of() {
    local name=$1 z best=""
    while IFS= read -r z; do
        if [[ $name == "$z" || $name == *".$z" ]]; then
            (( ${#z} > ${#best} )) && best=$z
        fi
    done < <(_dns_zones)
    [[ -n $best ]] || return 1
    printf '%s' "$best"
}

# _dns_txt_escape BYTES: zone-file escaping inside "..." (caller sets
# LC_ALL=C so ${s:i:1} is one byte).
_dns_txt_escape() {
    local s=$1 out="" c code i
    if [[ $s != *[!\ -~]* ]]; then
        s=${s//\\/\\\\}
        s=${s//\"/\\\"}
        printf '%s' "$s"
        return 0
    fi
    for (( i = 0; i < ${#s}; i++ )); do
        c=${s:i:1}
        case $c in
            \\ | \") out+="\\$c" ;;
            [\ -~]) out+=$c ;;
            *)
                printf -v code '%03d' "'$c"
                out+="\\$code"
                ;;
        esac
    done
    printf '%s' "$out"
}

# _dns_txt_rdata TEXT...: '"chunk" "chunk" ...', chunks <= 255 bytes.
_dns_txt_rdata() {
    local LC_ALL=C
    local text out="" i n
    for text in "$@"; do
        n=${#text}
        if (( n == 0 )); then
            out+=' ""'
            continue
        fi
        for (( i = 0; i < n; i += 255 )); do
            out+=" \"$(_dns_txt_escape "${text:i:255}")\""
        done
    done
    printf '%s' "${out# }"
}

_dns_write_conf() {
    local z
    {
        printf '# generated by dns-lib.sh - do not edit\n'
        printf 'server:\n'
        printf '    ip-address: %s@%s\n' "$DNS_ADDR" "$DNS_PORT"
        printf '    port: %s\n' "$DNS_PORT"
        printf '    do-ip4: yes\n'
        printf '    do-ip6: no\n'
        printf '    server-count: 1\n'
        printf '    reuseport: no\n'
        printf '    tcp-count: 32\n'
        printf '    username: ""\n'
        printf '    chroot: ""\n'
        printf '    zonesdir: "%s/zones"\n' "$DNS_DIR"
        printf '    database: ""\n'
        printf '    zonefiles-write: 0\n'
        printf '    zonelistfile: "%s/zone.list"\n' "$DNS_DIR"
        printf '    xfrdfile: "%s/xfrd.state"\n' "$DNS_DIR"
        printf '    xfrdir: "%s"\n' "$DNS_DIR"
        printf '    pidfile: "%s/nsd.pid"\n' "$DNS_DIR"
        printf '    logfile: "%s"\n' "$DNS_LOG"
        printf '    log-time-ascii: yes\n'
        printf '    verbosity: 1\n'
        printf '    hide-version: yes\n'
        printf '    identity: "dns-lib"\n'
        printf '    refuse-any: yes\n'
        printf 'remote-control:\n'
        printf '    control-enable: yes\n'
        printf '    control-interface: "%s/nsd.ctl"\n' "$DNS_DIR"
        while IFS= read -r z; do
            printf 'zone:\n'
            printf '    name: "%s"\n' "$z"
            printf '    zonefile: "%s/zones/%s.zone"\n' "$DNS_DIR" "$z"
        done < <(_dns_zones)
    } >"$DNS_CONF.tmp" && mv -f -- "$DNS_CONF.tmp" "$DNS_CONF"
}

# _dns_write_zone ZONE: regenerate the zone file with serial+1.
_dns_write_zone() {
    local z=$1 serial=0 f
    f=$DNS_DIR/serial/$z
    [[ -s $f ]] && read -r serial <"$f"
    serial=$(( serial + 1 ))
    {
        printf '; generated by dns-lib.sh - do not edit\n'
        # shellcheck disable=SC2016
        printf '$ORIGIN %s.\n$TTL 60\n' "$z"
        printf '%s. IN SOA ns.%s. hostmaster.%s. %d 3600 900 604800 60\n' \
            "$z" "$z" "$z" "$serial"
        printf '%s. IN NS ns.%s.\n' "$z" "$z"
        printf 'ns.%s. IN A %s\n' "$z" "$DNS_ADDR"
        if [[ -f $DNS_DIR/records/$z.rr ]]; then
            cat -- "$DNS_DIR/records/$z.rr"
        fi
    } >"$DNS_DIR/zones/$z.zone.tmp" || return 1
    if ! nsd-checkzone "$z" "$DNS_DIR/zones/$z.zone.tmp" >"$DNS_DIR/checkzone.out" 2>&1; then
        _dns_err "zone $z has errors (nsd-checkzone):"
        sed 's/^/dns-lib:   /' "$DNS_DIR/checkzone.out" >&2
        rm -f -- "$DNS_DIR/zones/$z.zone.tmp"
        return 1
    fi
    mv -f -- "$DNS_DIR/zones/$z.zone.tmp" "$DNS_DIR/zones/$z.zone" || return 1
    printf '%d\n' "$serial" >"$f"
}

# _dns_add_rr NAME LINE-AFTER-OWNER: append "NAME. LINE" to NAME's zone.
_dns_add_rr() {
    local name zone
    _dns_need_setup || return 1
    if ! name=$(_dns_norm "$1"); then
        _dns_err "not a valid domain name: '$1'"
        return 1
    fi
    if ! zone=$(_dns_zone_of "$name"); then
        _dns_err "$name is not inside a declared zone (dns_zone first)"
        return 1
    fi
    if [[ $2 == *$'\n'* || $2 == *$'\r'* ]]; then
        _dns_err "record data must not contain line breaks"
        return 1
    fi
    printf '%s. IN %s\n' "$name" "$2" >>"$DNS_DIR/records/$zone.rr" || return 1
    : >"$DNS_DIR/dirty/$zone"
}

# The Perl helper: "query ADDR PORT NAME TYPE" or
# "serials ADDR PORT ZONE=SERIAL...".
# shellcheck disable=SC2016
_DNS_PERL='
use strict; use warnings; use Net::DNS;
my ($cmd, $addr, $port, @args) = @ARGV;
my $quick = $cmd eq "serials";
my $res = Net::DNS::Resolver->new(
    nameservers => [$addr], port => $port, recurse => 0,
    defnames => 0, dnsrch => 0, igntc => 0,
    udp_timeout => $quick ? 1 : 2, tcp_timeout => $quick ? 1 : 3,
    retry => $quick ? 1 : 2, retrans => 1);
sub esc { my $s = shift;
    $s =~ s/([\\"])/\\$1/g;
    $s =~ s/([^\x20-\x7e])/sprintf("\\%03d", ord $1)/ge; qq{"$s"} }
if ($cmd eq "query") {
    my ($name, $type) = @args;
    my $p = $res->send($name, $type);
    if (!$p) { print STDERR "dns-lib: $name $type: ", $res->errorstring, "\n"; exit 4 }
    my $rcode = $p->header->rcode;
    exit 2 if $rcode eq "NXDOMAIN";
    if ($rcode ne "NOERROR") { print STDERR "dns-lib: $name $type: $rcode\n"; exit 3 }
    my $n = 0;
    for my $rr ($p->answer) {
        next unless uc($rr->type) eq uc($type);
        $n++;
        if ($rr->type eq "TXT") {
            my @s = $rr->txtdata;
            utf8::encode($_) for @s;   # Net::DNS decodes; print raw bytes
            print join(" ", map { esc($_) } @s), "\n";
        } else {
            my @f = split " ", $rr->plain, 5;
            print $f[4] // "", "\n";
        }
    }
    exit($n ? 0 : 1);
}
if ($cmd eq "serials") {
    for my $zs (@args) {
        my ($zone, $want) = split /=/, $zs, 2;
        my $p = $res->send($zone, "SOA") or exit 1;
        my ($soa) = grep { $_->type eq "SOA" } $p->answer;
        exit 1 unless $soa && $soa->serial == $want;
    }
    exit 0;
}
exit 5;
'

_dns_perl() { perl -e "$_DNS_PERL" -- "$@"; }

# _dns_serials_current [ZONE...]: NSD serves the serial of the zone file of
# each ZONE (default: all zones).
_dns_serials_current() {
    local z s args=() zones=()
    if (( $# == 0 )); then
        mapfile -t zones < <(_dns_zones)
        set -- "${zones[@]}"
    fi
    for z in "$@"; do
        read -r s <"$DNS_DIR/serial/$z" || return 1
        args+=("$z=$s")
    done
    (( ${#args[@]} > 0 )) || return 0
    _dns_perl serials "$DNS_ADDR" "$DNS_PORT" "${args[@]}"
}

_dns_control() {
    timeout 10 nsd-control -c "$DNS_CONF" "$@" </dev/null 2>&1
}

_dns_ready() {
    dns_running || return 1
    _dns_control status >/dev/null || return 1
    _dns_serials_current
}

# _dns_port_taken: is something bound to ADDR:PORT or 0.0.0.0:PORT (UDP or
# TCP listener)?
_dns_port_taken() {
    local hexport hexaddr o1 o2 o3 o4
    IFS=. read -r o1 o2 o3 o4 <<<"$DNS_ADDR"
    printf -v hexport '%04X' "$DNS_PORT"
    printf -v hexaddr '%02X%02X%02X%02X' "$o4" "$o3" "$o2" "$o1"
    awk -v a="$hexaddr:$hexport" -v w="00000000:$hexport" '
        FNR > 1 && ($2 == a || $2 == w) {
            if (FILENAME ~ /udp/ || $4 == "0A") f = 1
        }
        END { exit !f }' /proc/net/udp /proc/net/tcp 2>/dev/null
}

# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------

dns_setup() {
    local work=${1:-} addr=${2:-${DNS_ADDR:-$_DNS_DEFAULT_ADDR}}
    local port=${DNS_PORT:-53}
    if [[ -z $work ]]; then
        _dns_err "usage: dns_setup WORKDIR [ADDR]"
        return 2
    fi
    if ! _dns_valid_addr "$addr"; then
        _dns_err "ADDR must be an IPv4 loopback address (127.x.y.z): $addr"
        return 1
    fi
    if [[ ! $port =~ ^[0-9]+$ ]] || (( port < 1 || port > 65535 )); then
        _dns_err "DNS_PORT must be a port number: $port"
        return 1
    fi
    if [[ -n ${DNS_DIR:-} ]] && dns_running; then
        dns_stop || return 1
    fi
    mkdir -p -- "$work" || return 1
    work=$(cd -- "$work" && pwd -P) || return 1
    if [[ $work == *[\"$'\n'\\]* ]]; then
        _dns_err "WORKDIR must not contain quotes, backslashes or newlines: $work"
        return 1
    fi
    if (( ${#work} > 90 )); then
        # sun_path is 108 bytes; leave room for "/nsd.ctl".
        _dns_err "WORKDIR path too long for the control socket: $work"
        return 1
    fi
    if [[ -f $work/.dns-lib-workdir ]]; then
        find "$work" -mindepth 1 -delete || return 1
    elif [[ -n $(ls -A -- "$work") ]]; then
        _dns_err "WORKDIR is not empty (and not a dns-lib work dir): $work"
        return 1
    fi
    mkdir -p -- "$work/zones" "$work/records" "$work/serial" "$work/dirty" ||
        return 1
    : >"$work/.dns-lib-workdir"
    : >"$work/zones.list"
    # declare -g: also right when called as "DNS_PORT=5353 dns_setup DIR"
    # (bash makes such a prefix assignment local to the function call).
    declare -g DNS_DIR="$work" DNS_ADDR="$addr" DNS_PORT="$port"
    declare -g DNS_CONF="$work/nsd.conf" DNS_LOG="$work/nsd.log" _DNS_PID=""
    _dns_write_conf
}

dns_zone() {
    local zone
    _dns_need_setup || return 1
    if ! zone=$(_dns_norm "${1:-}") || [[ $zone == \** ]]; then
        _dns_err "not a valid zone name: '${1:-}'"
        return 1
    fi
    if grep -qxF -- "$zone" "$DNS_DIR/zones.list"; then
        return 0
    fi
    printf '%s\n' "$zone" >>"$DNS_DIR/zones.list" || return 1
    : >>"$DNS_DIR/records/$zone.rr"
    : >"$DNS_DIR/dirty/$zone"
    _dns_write_conf || return 1
    if dns_running; then
        : >"$DNS_DIR/reconfig-needed"
    fi
}

dns_txt() {
    if (( $# < 2 )); then
        _dns_err "usage: dns_txt NAME TEXT [TEXT...]"
        return 2
    fi
    local name=$1
    shift
    _dns_add_rr "$name" "TXT $(_dns_txt_rdata "$@")"
}

dns_txt_of_zone_line() {
    grep ' IN TXT ' "${1:?dns_txt_of_zone_line FILE}" | grep -o '"[^"]*"' | tr -d '"\n'
}

dns_record() {
    if (( $# < 3 )); then
        _dns_err "usage: dns_record NAME TYPE RDATA..."
        return 2
    fi
    local name=$1 type=${2^^}
    shift 2
    if [[ ! $type =~ ^[A-Z][A-Z0-9]*$ ]]; then
        _dns_err "not a record type: $type"
        return 1
    fi
    _dns_add_rr "$name" "$type $*"
}

dns_running() {
    [[ -n ${_DNS_PID:-} ]] && pid_alive "$_DNS_PID"
}

dns_start() {
    local z
    _dns_need_setup || return 1
    if dns_running; then
        return 0
    fi
    if ! command -v nsd >/dev/null; then
        _dns_err "nsd not found (apt-get install nsd)"
        return 1
    fi
    if (( DNS_PORT < 1024 && EUID != 0 )); then
        _dns_err "port $DNS_PORT needs root (or set DNS_PORT >= 1024)"
        return 1
    fi
    while IFS= read -r z; do
        _dns_write_zone "$z" || return 1
    done < <(_dns_zones)
    rm -f -- "$DNS_DIR"/dirty/* "$DNS_DIR/reconfig-needed" "$DNS_DIR/nsd.ctl"
    if ! nsd-checkconf "$DNS_CONF" >"$DNS_DIR/checkconf.out" 2>&1; then
        _dns_err "nsd-checkconf failed:"
        sed 's/^/dns-lib:   /' "$DNS_DIR/checkconf.out" >&2
        return 1
    fi
    if _dns_port_taken; then
        _dns_err "$DNS_ADDR:$DNS_PORT (or *:$DNS_PORT) is already in use;" \
            "pick another DNS_ADDR (127.0.53.x) or DNS_PORT"
        return 1
    fi
    printf '=== %s: nsd -d -c %s\n' "$(date '+%F %T')" "$DNS_CONF" \
        >>"$DNS_DIR/nsd.out"
    nsd -d -c "$DNS_CONF" </dev/null >>"$DNS_DIR/nsd.out" 2>&1 &
    _DNS_PID=$!
    if ! wait_until 15 _dns_ready; then
        if dns_running; then
            _dns_err "NSD (pid $_DNS_PID) does not answer on $DNS_ADDR:$DNS_PORT"
        else
            _dns_err "NSD exited during start-up"
        fi
        dns_diag 15
        dns_stop
        return 1
    fi
}

dns_reload() {
    local z out changed=()
    _dns_need_setup || return 1
    for z in "$DNS_DIR"/dirty/*; do
        [[ -e $z ]] || continue
        z=${z##*/}
        _dns_write_zone "$z" || return 1
        changed+=("$z")
    done
    if ! dns_running; then
        rm -f -- "$DNS_DIR"/dirty/* "$DNS_DIR/reconfig-needed"
        return 0
    fi
    if [[ -e $DNS_DIR/reconfig-needed ]]; then
        out=$(_dns_control reconfig)
        if [[ $out != *ok* || $out == *[Cc]ould\ not* || $out == *error* ]]; then
            _dns_err "nsd-control reconfig failed: $out"
            return 1
        fi
        rm -f -- "$DNS_DIR/reconfig-needed"
    fi
    for z in "${changed[@]}"; do
        out=$(_dns_control reload "$z")
        if [[ $out != ok* ]]; then
            _dns_err "nsd-control reload $z failed: $out"
            return 1
        fi
    done
    (( ${#changed[@]} > 0 )) || return 0
    if ! wait_until 15 _dns_serials_current "${changed[@]}"; then
        _dns_err "NSD does not serve the new serial of: ${changed[*]}"
        dns_diag 15
        return 1
    fi
    for z in "${changed[@]}"; do
        rm -f -- "$DNS_DIR/dirty/$z"
    done
}

dns_stop() {
    local p pids
    [[ -n ${DNS_CONF:-} ]] || return 0
    if ! dns_running && _dns_instance_gone; then
        if [[ -n ${_DNS_PID:-} ]]; then
            wait "$_DNS_PID" 2>/dev/null || true
        fi
        _DNS_PID=
        return 0
    fi
    if dns_running; then
        kill -TERM "$_DNS_PID" 2>/dev/null || true
    fi
    if ! wait_until 10 _dns_instance_gone; then
        _dns_err "NSD did not exit after SIGTERM; killing it"
        mapfile -t pids < <(_dns_instance_pids)
        for p in "${pids[@]}"; do
            kill -KILL "$p" 2>/dev/null || true
        done
        wait_until 5 _dns_instance_gone || {
            _dns_err "NSD processes survive SIGKILL: $(_dns_instance_pids | tr '\n' ' ')"
        }
    fi
    if [[ -n ${_DNS_PID:-} ]]; then
        wait "$_DNS_PID" 2>/dev/null || true
    fi
    _DNS_PID=
    rm -f -- "$DNS_DIR/nsd.ctl"
    _dns_instance_gone
}

dns_cleanup() {
    dns_stop >/dev/null 2>&1 || true
    if [[ -n ${DNS_DIR:-} && -f ${DNS_DIR:-}/.dns-lib-workdir ]]; then
        if [[ ${KEEP_WORK:-0} == 1 ]]; then
            _dns_err "KEEP_WORK=1: leaving $DNS_DIR"
        else
            rm -rf -- "$DNS_DIR" || true
        fi
    fi
    return 0
}

dns_query() {
    if (( $# != 2 )); then
        _dns_err "usage: dns_query NAME TYPE"
        return 2
    fi
    if [[ -z ${DNS_ADDR:-} ]]; then
        _dns_err "DNS_ADDR is not set (dns_setup first)"
        return 4
    fi
    local rc=0
    _dns_perl query "$DNS_ADDR" "${DNS_PORT:-53}" "$1" "$2" || rc=$?
    return "$rc"
}

dns_resolv_conf_run() {
    local conf tmp="" rc=0
    if (( $# == 0 )); then
        _dns_err "usage: dns_resolv_conf_run COMMAND [ARGS...]"
        return 125
    fi
    if [[ -z ${DNS_ADDR:-} ]] || ! _dns_valid_addr "$DNS_ADDR"; then
        _dns_err "DNS_ADDR is not set to a 127.x.y.z address"
        return 125
    fi
    if [[ ${DNS_PORT:-53} != 53 ]]; then
        _dns_err "dns_resolv_conf_run needs DNS_PORT=53 (resolv.conf has no port), not $DNS_PORT"
        return 125
    fi
    if (( EUID != 0 )); then
        _dns_err "dns_resolv_conf_run needs root (unshare --mount)"
        return 125
    fi
    if [[ ! -f /etc/resolv.conf ]]; then
        _dns_err "/etc/resolv.conf does not exist (or is a dangling link); nothing to mount over"
        return 125
    fi
    if [[ -n ${DNS_DIR:-} && -f ${DNS_DIR:-}/.dns-lib-workdir ]]; then
        conf=$DNS_DIR/resolv.conf
    else
        tmp=$(mktemp "${TMPDIR:-/tmp}/dns-lib-resolv.XXXXXX") || return 125
        conf=$tmp
    fi
    printf '# generated by dns-lib.sh\nnameserver %s\noptions timeout:2 attempts:2\n' \
        "$DNS_ADDR" >"$conf" || { rm -f -- "$tmp"; return 125; }
    chmod 644 "$conf"
    # The inner shell mounts, then execs the command: the namespace lives
    # exactly as long as the command (and whatever it leaves behind).
    # shellcheck disable=SC2016
    unshare --mount --propagation private -- /bin/sh -c '
        conf=$1; shift
        if ! mount --bind -- "$conf" /etc/resolv.conf; then
            echo "dns-lib: cannot bind-mount $conf over /etc/resolv.conf" >&2
            exit 125
        fi
        exec "$@"' dns-lib-ns "$conf" "$@" || rc=$?
    [[ -n $tmp ]] && rm -f -- "$tmp"
    return "$rc"
}

dns_diag() {
    local lines=${1:-30} f
    for f in "${DNS_LOG:-}" "${DNS_DIR:-}/nsd.out"; do
        [[ -n $f && -s $f ]] || continue
        printf '# --- %s (last %s lines)\n' "$f" "$lines" >&2
        tail -n "$lines" -- "$f" | sed 's/^/# /' >&2
    done
    return 0
}
