/*
 * direction - is this message outbound (ours, to sign and record) or inbound?
 *
 * Outbound when the client is in trusted_networks, authenticated with SMTP
 * AUTH (and outbound.authenticated is on), or arrived through one of the
 * MTA services named in outbound.daemon_names; inbound otherwise.  Pure:
 * the caller logs the decision and its reason.
 */
#ifndef MW_DIRECTION_H
#define MW_DIRECTION_H

#include <stddef.h>
#include <sys/socket.h>

#include "policy/policy.h"

enum direction {
	DIRECTION_INBOUND,
	DIRECTION_OUTBOUND,
};

struct direction_input {
	const struct sockaddr *client; /* NULL when the MTA did not say (e.g. local) */
	const char *auth_user;         /* {auth_authen}, NULL or "" when not authenticated */
	const char *daemon_name;       /* {daemon_name}, may be NULL */
};

/* The decision, and why, as "key=value" text for the log (reason, reasonlen). */
enum direction direction_classify(const struct policy *policy, const struct direction_input *in,
                                  char *reason, size_t reasonlen);
const char *direction_name(enum direction direction);

#endif
