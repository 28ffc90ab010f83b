/*
 * redis_keys - key names and Redis addresses; see redis_keys.h.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/redis_keys.h"

/* A port: digits only, 1..65535. */
static bool
port_parse(const char *s, int *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return false;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > 65535)
		return false;
	*out = (int)v;
	return true;
}

static bool
unix_parse(const char *path, struct redis_address *out, char *err, size_t errlen)
{
	if (*path != '/' || strlen(path) > REDIS_ADDRESS_PATH_MAX) {
		snprintf(err, errlen,
		         "\"unix:%s\": expected unix:/absolute/path (at most %d bytes)", path,
		         REDIS_ADDRESS_PATH_MAX);
		return false;
	}
	out->unix_socket = true;
	snprintf(out->host, sizeof(out->host), "%s", path);
	return true;
}

bool
redis_address_parse(const char *spec, struct redis_address *out, char *err, size_t errlen)
{
	const char *colon, *host = spec;
	size_t hostlen;

	memset(out, 0, sizeof(*out));
	if (strncmp(spec, "unix:", 5) == 0)
		return unix_parse(spec + 5, out, err, errlen);
	if (*spec == '[') {
		const char *close = strchr(spec, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		host = spec + 1;
		hostlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL ||
		    memchr(spec, ':', (size_t)(colon - spec)))
			goto bad;
		hostlen = (size_t)(colon - spec);
	}
	if (hostlen == 0 || hostlen > REDIS_ADDRESS_HOST_MAX || !port_parse(colon + 1, &out->port))
		goto bad;
	memcpy(out->host, host, hostlen);
	out->host[hostlen] = '\0';
	return true;
bad:
	snprintf(err, errlen, "\"%s\": expected HOST:PORT, [IPv6]:PORT or unix:/path", spec);
	return false;
}

/* scope with '%' and ':' escaped, so "P supp:SCOPE:ADDRESS" splits at its first ':'. */
static void
append_escaped(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '%')
			buf_puts(out, "%25");
		else if (*s == ':')
			buf_puts(out, "%3A");
		else
			buf_append(out, s, 1);
	}
}

void
redis_key_suppression(struct buf *out, const char *prefix, const char *address, const char *scope)
{
	buf_reset(out);
	buf_puts(out, prefix);
	buf_puts(out, "supp:");
	append_escaped(out, scope);
	buf_puts(out, ":");
	buf_puts(out, address);
}

void
redis_key_suppression_index(struct buf *out, const char *prefix)
{
	redis_key_fixed(out, prefix, "supp-index");
}

void
redis_member_suppression(struct buf *out, const char *address, const char *scope)
{
	buf_reset(out);
	buf_puts(out, address);
	buf_append(out, "", 1);
	buf_puts(out, scope);
}

bool
redis_member_split(const char *member, size_t len, char *address, size_t address_size, char *scope,
                   size_t scope_size)
{
	const char *nul = memchr(member, '\0', len);
	size_t alen, slen;

	if (nul == NULL)
		return false;
	alen = (size_t)(nul - member);
	slen = len - alen - 1;
	if (alen == 0 || alen >= address_size || slen >= scope_size || memchr(nul + 1, '\0', slen))
		return false;
	memcpy(address, member, alen);
	address[alen] = '\0';
	memcpy(scope, nul + 1, slen);
	scope[slen] = '\0';
	return true;
}

void
redis_key_bucket(struct buf *out, const char *prefix, const char *kind, const char *name,
                 int64_t hour)
{
	buf_reset(out);
	buf_printf(out, "%srep:%s:%s:%" PRId64, prefix, kind, name, hour);
}

void
redis_key_state(struct buf *out, const char *prefix, const char *kind, const char *name)
{
	buf_reset(out);
	buf_printf(out, "%srep-state:%s:%s", prefix, kind, name);
}

void
redis_key_fixed(struct buf *out, const char *prefix, const char *what)
{
	buf_reset(out);
	buf_puts(out, prefix);
	buf_puts(out, what);
}

void
redis_key_names(struct buf *out, const char *prefix, int64_t hour)
{
	buf_reset(out);
	buf_printf(out, "%srep-names:%" PRId64, prefix, hour);
}

void
redis_key_send(struct buf *out, const char *prefix, const char *message_id)
{
	buf_reset(out);
	buf_puts(out, prefix);
	buf_puts(out, "send:");
	buf_puts(out, message_id);
}
