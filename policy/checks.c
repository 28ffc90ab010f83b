/*
 * checks - validators for setting values; see checks.h.
 *
 * Each says in a few words what was wrong and what is expected; the loader
 * adds the file, line and setting name.
 */
#include "config.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/reputation.h"
#include "common/redis_keys.h"
#include "policy/checks.h"

static bool
valid_port(const char *text, size_t len)
{
	unsigned long port = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)text[i]))
			return false;
		port = port * 10 + (unsigned long)(text[i] - '0');
	}
	return port >= 1 && port <= 65535;
}

/*
 * libmilter socket specifications: unix:/path (or local:/path),
 * inet:PORT@HOST and inet6:PORT@HOST.  A port alone would listen on every
 * interface, which a mail filter has no reason to do: a host is required.
 */
bool
check_milter_socket(const char *value, char *err, size_t errlen)
{
	const char *rest;

	if (strncmp(value, "unix:", 5) == 0 || strncmp(value, "local:", 6) == 0) {
		rest = strchr(value, ':') + 1;
		if (*rest != '/') {
			snprintf(err, errlen, "\"%s\": a unix socket needs an absolute path",
			         value);
			return false;
		}
		if (strlen(rest) >= 108) {
			snprintf(err, errlen, "\"%s\": unix socket path longer than 107 bytes",
			         value);
			return false;
		}
		return true;
	}
	if (strncmp(value, "inet:", 5) == 0 || strncmp(value, "inet6:", 6) == 0) {
		rest = strchr(value, ':') + 1;
		const char *at = strchr(rest, '@');
		if (at == NULL || !valid_port(rest, (size_t)(at - rest)) || at[1] == '\0') {
			snprintf(err, errlen, "\"%s\": expected inet:PORT@HOST or inet6:PORT@HOST",
			         value);
			return false;
		}
		return true;
	}
	snprintf(err, errlen, "\"%s\": expected unix:/path, inet:PORT@HOST or inet6:PORT@HOST",
	         value);
	return false;
}

bool
check_octal_mode(const char *value, char *err, size_t errlen)
{
	char *end;
	unsigned long mode = strtoul(value, &end, 8);

	if (*value == '\0' || *end != '\0' || mode > 0777) {
		snprintf(err, errlen, "\"%s\": expected an octal mode such as \"0660\"", value);
		return false;
	}
	return true;
}

bool
check_cidr(const char *value, char *err, size_t errlen)
{
	struct cidr net;

	return cidr_parse(value, &net, err, errlen);
}

/* RFC 1035 host name syntax, as used for domains in mail addresses. */
bool
check_domain(const char *value, char *err, size_t errlen)
{
	size_t len = strlen(value), label = 0;

	if (len == 0 || len > 253)
		goto bad;
	for (size_t i = 0; i <= len; i++) {
		char c = value[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || value[i - 1] == '-')
				goto bad;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-' && c != '_')
			goto bad;
		if (label == 0 && c == '-')
			goto bad;
		label++;
	}
	return true;
bad:
	snprintf(err, errlen, "\"%s\" is not a valid domain name", value);
	return false;
}

bool
check_address(const char *value, char *err, size_t errlen)
{
	const char *at = strrchr(value, '@');

	char why[300];

	if (at == NULL || at == value || !check_domain(at + 1, why, sizeof(why))) {
		snprintf(err, errlen, "\"%s\" is not a mail address (local@domain)", value);
		return false;
	}
	return true;
}

bool
check_absolute_path(const char *value, char *err, size_t errlen)
{
	if (value[0] != '/') {
		snprintf(err, errlen, "\"%s\" must be an absolute path", value);
		return false;
	}
	return true;
}

bool
check_optional_absolute_path(const char *value, char *err, size_t errlen)
{
	return value[0] == '\0' || check_absolute_path(value, err, errlen);
}

/* A name used as a key or tag: non-empty, printable, no spaces. */
bool
check_token(const char *value, char *err, size_t errlen)
{
	if (*value == '\0') {
		snprintf(err, errlen, "must not be empty");
		return false;
	}
	for (const char *p = value; *p; p++) {
		if (!isgraph((unsigned char)*p)) {
			snprintf(err, errlen,
			         "\"%s\": spaces and control characters are not allowed", value);
			return false;
		}
	}
	return true;
}

/* A DNS server: "ADDR" or "ADDR@PORT", IPv4 or IPv6 literal (as libunbound takes it). */
bool
check_nameserver(const char *value, char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bytes[16];
	const char *at = strchr(value, '@');
	size_t len = at ? (size_t)(at - value) : strlen(value);
	char *end = NULL;

	if (len == 0 || len >= sizeof(addr))
		goto bad;
	memcpy(addr, value, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, bytes) != 1 && inet_pton(AF_INET6, addr, bytes) != 1)
		goto bad;
	if (at != NULL) {
		long port = strtol(at + 1, &end, 10);
		if (end == at + 1 || *end != '\0' || port < 1 || port > 65535)
			goto bad;
	}
	return true;
bad:
	snprintf(err, errlen, "\"%s\" is not a DNS server address (ADDR or ADDR@PORT)", value);
	return false;
}

/* Empty, or an http(s) URL (the base the tokens are appended to). */
bool
check_optional_url(const char *value, char *err, size_t errlen)
{
	if (*value == '\0' ||
	    ((strncmp(value, "https://", 8) == 0 || strncmp(value, "http://", 7) == 0) &&
	     strpbrk(value, " \t\r\n<>\"") == NULL))
		return true;
	snprintf(err, errlen, "\"%s\" is not an http:// or https:// URL", value);
	return false;
}

bool
check_optional_address(const char *value, char *err, size_t errlen)
{
	return *value == '\0' || check_address(value, err, errlen);
}

bool
check_rate(const char *value, char *err, size_t errlen)
{
	long rate;

	if (reputation_parse_rate(value, &rate))
		return true;
	snprintf(err, errlen,
	         "\"%s\": expected a percentage such as \"0.3%%\" (at most three decimals, "
	         "up to 100%%) or \"0\" for none",
	         value);
	return false;
}

/* A sliding window: whole hours, from 1 hour to the 7 days the store keeps. */
bool
check_window(const char *value, char *err, size_t errlen)
{
	long seconds;

	if (reputation_parse_duration(value, &seconds) && seconds % 3600 == 0 && seconds >= 3600 &&
	    seconds <= 7 * 86400)
		return true;
	snprintf(err, errlen, "\"%s\": expected whole hours or days from \"1h\" to \"7d\"", value);
	return false;
}

bool
check_duration(const char *value, char *err, size_t errlen)
{
	long seconds;

	if (reputation_parse_duration(value, &seconds))
		return true;
	snprintf(err, errlen,
	         "\"%s\": expected a number and a unit (s, m, h, d) such as \"6h\", or \"0\"",
	         value);
	return false;
}

bool
check_redis_address(const char *value, char *err, size_t errlen)
{
	struct redis_address address;

	return redis_address_parse(value, &address, err, errlen);
}
