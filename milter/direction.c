/*
 * direction - outbound or inbound; see direction.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "milter/direction.h"

static const char *
cidr_text(const struct policy *policy, const struct cidr *net)
{
	return policy->trusted_networks.items[net - policy->trusted.nets];
}

static bool
listed(const struct strlist *list, const char *value)
{
	for (size_t i = 0; value != NULL && i < list->count; i++)
		if (strcmp(list->items[i], value) == 0)
			return true;
	return false;
}

enum direction
direction_classify(const struct policy *policy, const struct direction_input *in, char *reason,
                   size_t reasonlen)
{
	const struct cidr *net = netlist_match(&policy->trusted, in->client);

	if (net != NULL) {
		snprintf(reason, reasonlen, "reason=trusted_network network=%s",
		         cidr_text(policy, net));
		return DIRECTION_OUTBOUND;
	}
	if (policy->outbound_authenticated && in->auth_user != NULL && *in->auth_user) {
		snprintf(reason, reasonlen, "reason=authenticated sasl_username=%s", in->auth_user);
		return DIRECTION_OUTBOUND;
	}
	if (listed(&policy->outbound_daemon_names, in->daemon_name)) {
		snprintf(reason, reasonlen, "reason=daemon_name daemon=%s", in->daemon_name);
		return DIRECTION_OUTBOUND;
	}
	snprintf(reason, reasonlen, "reason=untrusted_client");
	return DIRECTION_INBOUND;
}

const char *
direction_name(enum direction direction)
{
	return direction == DIRECTION_OUTBOUND ? "outbound" : "inbound";
}
