/*
 * resolver - the DNS resolver of the inbound checks, made from the policy
 *
 * One resolver (and so one cache) serves every connection.  It is made
 * once at start from the dns section; a reload that changes that section
 * says it takes effect at restart, like the socket and the spool.
 */
#ifndef MW_RESOLVER_H
#define MW_RESOLVER_H

#include <stdbool.h>

#include "common/buf.h"
#include "common/dns.h"
#include "policy/policy.h"

/* NULL with the reason in err; not made (NULL, err empty) when inbound.mode is off. */
struct dns_resolver *resolver_open(const struct policy *policy, struct buf *err);
/* Do the dns sections of two snapshots differ? */
bool resolver_settings_differ(const struct policy *a, const struct policy *b);

#endif
