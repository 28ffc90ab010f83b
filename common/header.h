/*
 * header - message header fields and address lists in them
 *
 * addrlist_split() splits a From/To/Cc value into its addresses the way
 * RFC 5322 reads it: commas inside quoted strings, comments and angle
 * brackets do not separate.  address_domain() finds the domain of one
 * address ("Alice <a@example.com>" -> "example.com").
 */
#ifndef MW_HEADER_H
#define MW_HEADER_H

#include <stdbool.h>
#include <stddef.h>

struct header {
	char *name;
	char *value;
};

struct addrlist {
	char **items;
	size_t count;
};

void addrlist_split(const char *value, struct addrlist *out);
void addrlist_free(struct addrlist *list);
/* The bare local@domain of one address ("Alice <a@example.com>" -> "a@example.com"); caller frees.
 */
char *address_spec(const char *address);
/* Lower-cased domain of an address, or NULL; caller frees. */
char *address_domain(const char *address);
/* The same for the first address of a list (From may name several); NULL-safe. */
char *first_address_domain(const char *value);

#endif
