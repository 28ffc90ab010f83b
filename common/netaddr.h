/*
 * netaddr - IPv4/IPv6 networks in CIDR notation and matching clients
 *
 * cidr_parse() accepts "192.0.2.0/24", "2001:db8::/32" and bare addresses
 * (a host route).  Host bits set below the prefix ("10.0.0.1/8") are an
 * error, as in Postfix: the administrator almost certainly meant something
 * else.  IPv4-mapped IPv6 clients (::ffff:192.0.2.1), which a dual-stack
 * MTA can report, match IPv4 networks.
 */
#ifndef MW_NETADDR_H
#define MW_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

struct netlist {
	struct cidr *nets;
	size_t count;
};

bool cidr_parse(const char *text, struct cidr *out, char *err, size_t errlen);
bool cidr_match(const struct cidr *net, const struct sockaddr *client);
/* The first network of the list that contains client, or NULL. */
const struct cidr *netlist_match(const struct netlist *list, const struct sockaddr *client);
void netlist_free(struct netlist *list);

/* Printable address of a socket address ("192.0.2.1", "2001:db8::1"). */
bool sockaddr_ntop(const struct sockaddr *sa, char *out, size_t outlen);
/* Parse a literal address into a sockaddr_storage (tests, tools). */
bool sockaddr_pton(const char *text, struct sockaddr_storage *out);

#endif
