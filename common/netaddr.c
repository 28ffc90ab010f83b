/*
 * netaddr - CIDR parsing and matching; see netaddr.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/netaddr.h"

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool
parse_prefix(const char *text, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (*text < '0' || *text > '9')
		return false;
	v = strtoul(text, &end, 10);
	if (*end != '\0' || v > max || (text[0] == '0' && text[1] != '\0'))
		return false;
	*out = (unsigned)v;
	return true;
}

static bool
host_bits_clear(const uint8_t *addr, unsigned bytes, unsigned prefix)
{
	for (unsigned bit = prefix; bit < bytes * 8; bit++)
		if (addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

bool
cidr_parse(const char *text, struct cidr *out, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t hostlen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned bytes, max;

	memset(out, 0, sizeof(*out));
	if (hostlen == 0 || hostlen >= sizeof(host)) {
		snprintf(err, errlen, "\"%s\" is not an IP address or network", text);
		return false;
	}
	memcpy(host, text, hostlen);
	host[hostlen] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		bytes = 4;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		bytes = 16;
	} else {
		snprintf(err, errlen, "\"%s\" is not an IP address or network", text);
		return false;
	}
	max = bytes * 8;
	out->prefix = max;
	if (slash != NULL && !parse_prefix(slash + 1, max, &out->prefix)) {
		snprintf(err, errlen, "\"%s\": prefix length must be 0 to %u", text, max);
		return false;
	}
	if (!host_bits_clear(out->addr, bytes, out->prefix)) {
		snprintf(err, errlen, "\"%s\": address has bits set beyond the /%u prefix", text,
		         out->prefix);
		return false;
	}
	return true;
}

static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

bool
cidr_match(const struct cidr *net, const struct sockaddr *client)
{
	if (client == NULL)
		return false;
	if (client->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)client;
		return net->family == AF_INET &&
		       prefix_equal(net->addr, (const uint8_t *)&sin->sin_addr, net->prefix);
	}
	if (client->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)client)->sin6_addr.s6_addr;
		if (net->family == AF_INET6)
			return prefix_equal(net->addr, a, net->prefix);
		return memcmp(a, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0 &&
		       prefix_equal(net->addr, a + 12, net->prefix);
	}
	return false;
}

const struct cidr *
netlist_match(const struct netlist *list, const struct sockaddr *client)
{
	for (size_t i = 0; i < list->count; i++)
		if (cidr_match(&list->nets[i], client))
			return &list->nets[i];
	return NULL;
}

void
netlist_free(struct netlist *list)
{
	free(list->nets);
	list->nets = NULL;
	list->count = 0;
}

bool
sockaddr_ntop(const struct sockaddr *sa, char *out, size_t outlen)
{
	const void *addr;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else
		return false;
	return inet_ntop(sa->sa_family, addr, out, (socklen_t)outlen) != NULL;
}

bool
sockaddr_pton(const char *text, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}
