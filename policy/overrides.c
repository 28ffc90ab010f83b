/*
 * overrides - local exceptions to DMARC policies; see overrides.h.
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "common/netaddr.h"
#include "policy/overrides.h"
#include "policy/signing.h"

bool
policy_monitor_domain(const struct policy *policy, const char *from_domain)
{
	for (size_t i = 0; i < policy->monitor_domains.count; i++)
		if (domain_pattern_covers(policy->monitor_domains.items[i], from_domain))
			return true;
	return false;
}

bool
policy_trusted_forwarder(const struct policy *policy, const struct sockaddr *client)
{
	return client != NULL && netlist_match(&policy->forwarder_nets, client) != NULL;
}

void
policy_authserv_id(const struct policy *policy, char *out, size_t outlen)
{
	if (*policy->authserv_id != '\0') {
		snprintf(out, outlen, "%s", policy->authserv_id);
		return;
	}
	if (gethostname(out, outlen) < 0 || *out == '\0')
		snprintf(out, outlen, "localhost");
	out[outlen - 1] = '\0';
}
