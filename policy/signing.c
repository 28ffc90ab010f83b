/*
 * signing - the signing table: keys loaded with the snapshot, lookups
 *
 * Keys are read when a policy is loaded (at start-up as root, on SIGHUP as
 * the daemon's user), so a message never waits for a file, and a key that
 * cannot be used makes the whole policy fail with the entry's file:line.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "policy/policy.h"
#include "policy/checks.h"
#include "policy/settings.h"
#include "policy/signing.h"

int
signing_entry_finish(void *elem, struct buf *why)
{
	struct policy_domain *d = elem;

	return dkim_key_load(d->key_file, (enum dkim_alg)d->algorithm, &d->key, why);
}

void
signing_entry_release(void *elem)
{
	dkim_key_free(&((struct policy_domain *)elem)->key);
}

bool
check_domain_pattern(const char *value, char *err, size_t errlen)
{
	return check_domain(strncmp(value, "*.", 2) == 0 ? value + 2 : value, err, errlen);
}

/* Does entry (example.com or *.example.com) cover the From domain? */
static bool
entry_covers(const char *entry, const char *domain)
{
	if (strncmp(entry, "*.", 2) != 0)
		return strcasecmp(entry, domain) == 0;
	size_t elen = strlen(entry + 1), dlen = strlen(domain);
	return dlen > elen && strcasecmp(domain + dlen - elen, entry + 1) == 0;
}

static bool
stream_matches(const char *entry_stream, const char *stream)
{
	return *entry_stream == '\0' || (stream != NULL && strcmp(entry_stream, stream) == 0);
}

size_t
policy_signing_keys(const struct policy *policy, const char *from_domain, const char *stream,
                    const struct policy_domain **out, size_t max)
{
	size_t n = 0;

	if (from_domain == NULL)
		return 0;
	for (int wildcard = 0; wildcard <= 1 && n == 0; wildcard++) {
		for (size_t i = 0; i < policy->domain_count && n < max; i++) {
			const struct policy_domain *d = &policy->domains[i];
			if ((strncmp(d->domain, "*.", 2) == 0) == wildcard &&
			    entry_covers(d->domain, from_domain) &&
			    stream_matches(d->stream, stream))
				out[n++] = d;
		}
	}
	return n;
}

const char *
signing_domain(const struct policy_domain *entry)
{
	return strncmp(entry->domain, "*.", 2) == 0 ? entry->domain + 2 : entry->domain;
}
