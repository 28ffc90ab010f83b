/*
 * resolver - the policy's dns section to a resolver; see resolver.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "milter/resolver.h"

struct dns_resolver *
resolver_open(const struct policy *policy, struct buf *err)
{
	struct dns_forward_zone *zones = xcalloc(policy->dns_zone_count + 1, sizeof(*zones));
	struct dns_config cfg = {
		.nameservers = policy->dns_nameservers.items,
		.n_nameservers = policy->dns_nameservers.count,
		.zones = zones,
		.n_zones = policy->dns_zone_count,
		.query_timeout_ms = (unsigned)policy->dns_query_timeout_ms,
		.message_budget_ms = (unsigned)policy->dns_message_budget_ms,
		.dnssec = policy->dns_dnssec,
		.trust_anchor_file = policy->dns_trust_anchor,
	};
	struct dns_resolver *resolver = NULL;

	if (policy->inbound_mode != INBOUND_OFF) {
		for (size_t i = 0; i < policy->dns_zone_count; i++) {
			zones[i].zone = policy->dns_zones[i].zone;
			zones[i].servers = policy->dns_zones[i].nameservers.items;
			zones[i].n_servers = policy->dns_zones[i].nameservers.count;
		}
		resolver = dns_resolver_new(&cfg, err);
	}
	free(zones);
	return resolver;
}

static bool
strlists_differ(const struct strlist *a, const struct strlist *b)
{
	if (a->count != b->count)
		return true;
	for (size_t i = 0; i < a->count; i++)
		if (strcmp(a->items[i], b->items[i]) != 0)
			return true;
	return false;
}

bool
resolver_settings_differ(const struct policy *a, const struct policy *b)
{
	if (strlists_differ(&a->dns_nameservers, &b->dns_nameservers) ||
	    a->dns_zone_count != b->dns_zone_count ||
	    a->dns_query_timeout_ms != b->dns_query_timeout_ms ||
	    a->dns_message_budget_ms != b->dns_message_budget_ms ||
	    a->dns_dnssec != b->dns_dnssec ||
	    strcmp(a->dns_trust_anchor, b->dns_trust_anchor) != 0 ||
	    (a->inbound_mode == INBOUND_OFF) != (b->inbound_mode == INBOUND_OFF))
		return true;
	for (size_t i = 0; i < a->dns_zone_count; i++)
		if (strcmp(a->dns_zones[i].zone, b->dns_zones[i].zone) != 0 ||
		    strlists_differ(&a->dns_zones[i].nameservers, &b->dns_zones[i].nameservers))
			return true;
	return false;
}
