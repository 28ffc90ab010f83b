#!/bin/bash
# security.sh - MACs and tags are compared in constant time
#
# A VERP token, an unsubscribe token or anything else that carries a MAC
# is checked with CRYPTO_memcmp: memcmp or strcmp stop at the first byte
# that differs, and the time that takes tells a forger how much of the tag
# was right.  The files checked: those that compute a keyed MAC (found by
# EVP_Q_mac/HMAC, so a new one is covered without editing this list) and
# those that take tokens from outside (bounces, unsubscribe links and mails,
# the HTTP endpoint, webhooks).  In them, no memcmp/bcmp/strcmp/strncmp/
# strcasecmp may take an argument named like a MAC (mac, tag, hmac,
# digest, sig, signature, secret); and each file that computes a MAC and
# checks one uses CRYPTO_memcmp.  The check itself is tested first on a
# planted violation.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top/tests/lib/tap.sh"
cd "$top" || exit 1

token_files=(common/unsub_token.c common/verp.c common/webhook.c common/webhook_dispatch.c
	milter/unsub_record.c milter/unsub_mail.c milter/endpoint.c milter/endpoint_route.c
	milter/feedback_in.c)
mapfile -t mac_files < <(grep -lE '\b(EVP_Q_mac|HMAC|EVP_MAC_init)\b' common/*.c policy/*.c milter/*.c)
mapfile -t files < <(printf '%s\n' "${token_files[@]}" "${mac_files[@]}" | sort -u)

# Lines of a C file where a variable-time comparison takes a MAC-like argument.
variable_time_mac_compares() {
	grep -nE '\b(memcmp|bcmp|strcmp|strncmp|strcasecmp|strncasecmp)[[:space:]]*\(' "$1" |
		grep -iE '\(([^;]*[^[:alnum:]_])?[[:alnum:]_]*(mac|tag|hmac|digest|sig|signature|secret)[[:alnum:]_]*([^[:alnum:]_]|$)' |
		grep -vE 'CRYPTO_memcmp'
}

plan $((${#files[@]} + ${#mac_files[@]} + 2))

planted=$(mktemp)
trap 'rm -f "$planted"' EXIT
printf '%s\n' 'if (memcmp(tag, raw + body, TAG_BYTES) != 0)' 'return strcmp(want_mac, got) == 0;' \
	'if (CRYPTO_memcmp(tag, raw, 12) != 0)' 'if (strcmp(o->mail_id, x) == 0)' >"$planted"
check "the check finds memcmp and strcmp on a tag/MAC (and only those)" \
	test "$(variable_time_mac_compares "$planted" | cut -d: -f1 | tr '\n' ' ')" = "1 2 "
check "files that compute a keyed MAC were found (${#mac_files[@]})" test "${#mac_files[@]}" -ge 2

for f in "${files[@]}"; do
	if [ ! -f "$f" ]; then
		fail "$f: no variable-time MAC comparison" "no such file"
	elif hits=$(variable_time_mac_compares "$f"); then
		fail "$f: no variable-time MAC comparison" "$(echo "$hits" | head -5)" \
			"compare MACs and tags with CRYPTO_memcmp (openssl/crypto.h)"
	else
		pass "$f: no variable-time MAC comparison"
	fi
done
for f in "${mac_files[@]}"; do
	check "$f computes a MAC and checks it with CRYPTO_memcmp" grep -q 'CRYPTO_memcmp' "$f"
done
done_testing
