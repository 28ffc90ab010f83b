/*
 * overrides - the local exceptions to published DMARC policies
 *
 * A mail administrator trusts some senders more than their DMARC records
 * say: domains whose policy is only watched (inbound.monitor_domains) and
 * clients that forward mail and so break SPF and sometimes DKIM, such as
 * mailing lists (inbound.forwarders).  Both turn an applied policy into
 * "none"; the report row and the header say why (RFC 7489 PolicyOverride
 * local_policy and trusted_forwarder).
 */
#ifndef MW_POLICY_OVERRIDES_H
#define MW_POLICY_OVERRIDES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "policy/policy.h"

bool policy_monitor_domain(const struct policy *policy, const char *from_domain);
bool policy_trusted_forwarder(const struct policy *policy, const struct sockaddr *client);
/* inbound.authserv_id, or the host name when it is empty. */
void policy_authserv_id(const struct policy *policy, char *out, size_t outlen);

#endif
