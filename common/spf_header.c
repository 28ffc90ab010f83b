/*
 * spf_header - the Received-SPF header field (RFC 7208 9.1); see spf.h.
 *
 * The sender, HELO name and problem come from the client or from DNS: a
 * value that is not a dot-atom goes out as a quoted-string, text in the
 * comment has its parentheses and backslashes escaped, and bytes that have
 * no place in a header (controls, 8-bit) become "?".
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/spf.h"

static bool
is_atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool
is_dot_atom(const char *s)
{
	bool need_atext = true;

	for (; *s; s++) {
		if (*s == '.' && !need_atext)
			need_atext = true;
		else if (is_atext((unsigned char)*s))
			need_atext = false;
		else
			return false;
	}
	return !need_atext;
}

/* Copy s escaping the characters in special; unprintable bytes become "?". */
static void
put_escaped(struct buf *out, const char *s, const char *special)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c >= 0x7f)
			c = '?';
		else if (strchr(special, c) != NULL)
			buf_puts(out, "\\");
		buf_append(out, &c, 1);
	}
}

static void
put_pair(struct buf *out, const char *key, const char *value)
{
	buf_printf(out, " %s=", key);
	if (is_dot_atom(value)) {
		buf_puts(out, value);
		return;
	}
	buf_puts(out, "\"");
	put_escaped(out, value, "\"\\");
	buf_puts(out, "\"");
}

static void
put_comment(struct buf *out, const struct spf_request *req, const struct spf_outcome *o,
            const char *ip)
{
	const char *who = o->sender ? o->sender : "";

	buf_puts(out, " (");
	if (req->receiver != NULL) {
		put_escaped(out, req->receiver, "()\\");
		buf_puts(out, ": ");
	}
	switch (o->result) {
	case SPF_PASS:
		buf_puts(out, "domain of ");
		put_escaped(out, who, "()\\");
		buf_printf(out, " designates %s as permitted sender", ip);
		break;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
		buf_puts(out, o->result == SPF_FAIL ? "domain of " : "domain of transitioning ");
		put_escaped(out, who, "()\\");
		buf_printf(out, " does not designate %s as permitted sender", ip);
		break;
	case SPF_NEUTRAL:
	case SPF_NONE:
		buf_printf(out, "%s is neither permitted nor denied by ", ip);
		buf_puts(out, o->result == SPF_NONE ? "a record of " : "domain of ");
		put_escaped(out, who, "()\\");
		break;
	case SPF_TEMPERROR:
	case SPF_PERMERROR:
		buf_puts(out, o->result == SPF_TEMPERROR ? "temporary" : "permanent");
		buf_puts(out, " error in processing the record of ");
		put_escaped(out, who, "()\\");
		break;
	}
	buf_puts(out, ")");
}

void
spf_received_spf(struct buf *out, const struct spf_request *req, const struct spf_outcome *outcome)
{
	char ip[64];

	if (req->client == NULL || !sockaddr_ntop(req->client, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "unknown");
	buf_puts(out, spf_result_name(outcome->result));
	put_comment(out, req, outcome, ip);
	put_pair(out, "client-ip", ip);
	buf_puts(out, ";");
	if (req->mail_from != NULL && req->mail_from[0] != '\0') {
		put_pair(out, "envelope-from", req->mail_from);
		buf_puts(out, ";");
	}
	if (req->helo != NULL && req->helo[0] != '\0') {
		put_pair(out, "helo", req->helo);
		buf_puts(out, ";");
	}
	if (req->receiver != NULL) {
		put_pair(out, "receiver", req->receiver);
		buf_puts(out, ";");
	}
	if (outcome->mechanism != NULL) {
		put_pair(out, "mechanism", outcome->mechanism);
		buf_puts(out, ";");
	}
	if (outcome->problem != NULL) {
		put_pair(out, "problem", outcome->problem);
		buf_puts(out, ";");
	}
	buf_printf(out, " identity=%s", outcome->identity == SPF_ID_HELO ? "helo" : "mailfrom");
}
