/*
 * streams - which sending stream a message is in, who may send as whom,
 * and whose sending limits apply: the pure lookups over the policy
 *
 * An address pattern is one of
 *
 *	news@example.com	that address (any case)
 *	*@promo.example.com	any address at that domain
 *	promo.example.com	the same
 *	*.example.org		any address at a subdomain of example.org
 *	*@*.example.org		the same
 *	*			any address
 *
 * When several patterns match, the most specific one wins: an exact
 * address, then an exact domain, then the longest "*.parent", then "*";
 * between equals, the first in the file.
 *
 * A stream is chosen (milter/streams.c) by the control header, else by
 * the SMTP AUTH user (auth_users), else by the envelope sender (senders,
 * the address of MAIL FROM as the application gave it), else as the
 * default of the From header's domain (default_for).  The lookups neither
 * log nor allocate, and take NULL for "not known".
 */
#ifndef MW_STREAMS_H
#define MW_STREAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "policy/policy.h"

/* How well a pattern matches an address: -1 not at all, higher is more specific. */
int address_pattern_match(const char *pattern, const char *address);
/* Setting validators: an address pattern; a "name=value" event tag. */
bool check_address_pattern(const char *value, char *err, size_t errlen);
bool check_event_tag(const char *value, char *err, size_t errlen);

const struct policy_stream *policy_stream_named(const struct policy *policy, const char *name);
const struct policy_stream *policy_stream_for_user(const struct policy *policy,
                                                   const char *auth_user);
const struct policy_stream *policy_stream_for_sender(const struct policy *policy,
                                                     const char *sender);
const struct policy_stream *policy_stream_for_domain(const struct policy *policy,
                                                     const char *from_domain);

/*
 * May this client send with this From address?  True when no identities
 * are configured, or when an identity that names the AUTH user (or "*"
 * for any authenticated one), or a network the client is in, has a From
 * pattern that matches.
 */
bool policy_identity_allows(const struct policy *policy, const char *auth_user,
                            const struct sockaddr *client, const char *from);
/* The user_limits entry of an AUTH user (exact names before "*"), or NULL. */
const struct policy_user_limits *policy_user_limits(const struct policy *policy,
                                                    const char *auth_user);

/* identities elements: parse the networks; check the entry names someone. */
int identity_finish(void *elem, struct buf *why);
void identity_release(void *elem);
/* Rules across streams (an AUTH user or default domain in two streams); problems found. */
int streams_cross_check(const struct policy *policy, struct buf *errors);

#endif
