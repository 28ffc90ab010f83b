/*
 * streams - stream, identity and limit lookups; see streams.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/netaddr.h"
#include "common/xalloc.h"
#include "policy/checks.h"
#include "policy/signing.h"
#include "policy/streams.h"

/* Scores: any exact local part outranks any domain form; see address_pattern_match(). */
#define SCORE_LOCAL         2000
#define SCORE_EXACT_DOMAIN  1000
#define SCORE_PARENT_DOMAIN 10 /* plus the parent's length: the longer, the closer */

/* The domain part of a pattern ("*@x", "x", "*.x", "local@x"), and whether it names a local part.
 */
static const char *
pattern_domain(const char *pattern, const char **local, size_t *local_len)
{
	const char *at = strrchr(pattern, '@');

	if (at == NULL) {
		*local = NULL;
		*local_len = 0;
		return pattern;
	}
	*local = pattern;
	*local_len = (size_t)(at - pattern);
	if (*local_len == 1 && pattern[0] == '*')
		*local = NULL;
	return at + 1;
}

/* -1, or how specifically the domain pattern covers the domain. */
static int
domain_score(const char *pattern, const char *domain)
{
	if (strncmp(pattern, "*.", 2) != 0)
		return strcasecmp(pattern, domain) == 0 ? SCORE_EXACT_DOMAIN : -1;
	return domain_pattern_covers(pattern, domain)
	           ? SCORE_PARENT_DOMAIN + (int)strlen(pattern + 2)
	           : -1;
}

int
address_pattern_match(const char *pattern, const char *address)
{
	const char *local, *at;
	size_t local_len;
	int score;

	if (pattern == NULL || address == NULL || (at = strrchr(address, '@')) == NULL ||
	    at == address || at[1] == '\0')
		return -1;
	if (strcmp(pattern, "*") == 0)
		return 0;
	score = domain_score(pattern_domain(pattern, &local, &local_len), at + 1);
	if (score < 0 || local == NULL)
		return score;
	if ((size_t)(at - address) != local_len || strncasecmp(address, local, local_len) != 0)
		return -1;
	return SCORE_LOCAL + score;
}

bool
check_address_pattern(const char *value, char *err, size_t errlen)
{
	const char *local;
	size_t local_len;
	const char *domain = pattern_domain(value, &local, &local_len);
	char why[300];

	if (strcmp(value, "*") == 0)
		return true;
	if (local != NULL) {
		for (size_t i = 0; i < local_len; i++)
			if (isspace((unsigned char)local[i]) || local[i] == '*' ||
			    local[i] == '<' || local[i] == '>')
				goto bad;
		if (local_len == 0)
			goto bad;
	}
	if (strncmp(domain, "*@", 2) == 0 || !check_domain_pattern(domain, why, sizeof(why)))
		goto bad;
	return true;
bad:
	snprintf(err, errlen,
	         "\"%s\" is not an address pattern (local@domain, *@domain, domain, "
	         "*.domain or *)",
	         value);
	return false;
}

/* Tag names and values as SES allows them (letters, digits, _ - . @), as control.c takes them. */
static bool
tag_part_ok(const char *s, size_t len)
{
	if (len == 0 || len > 256)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_-.@:", s[i]))
			return false;
	return true;
}

bool
check_event_tag(const char *value, char *err, size_t errlen)
{
	const char *eq = strchr(value, '=');

	if (eq != NULL && tag_part_ok(value, (size_t)(eq - value)) &&
	    tag_part_ok(eq + 1, strlen(eq + 1)))
		return true;
	snprintf(err, errlen,
	         "\"%s\" is not a tag: expected name=value (letters, digits, _ - . @ :)", value);
	return false;
}

static bool
strlist_has(const struct strlist *list, const char *value)
{
	for (size_t i = 0; value != NULL && i < list->count; i++)
		if (strcmp(list->items[i], value) == 0)
			return true;
	return false;
}

const struct policy_stream *
policy_stream_named(const struct policy *policy, const char *name)
{
	for (size_t i = 0; policy != NULL && name != NULL && i < policy->stream_count; i++)
		if (strcmp(policy->streams[i].name, name) == 0)
			return &policy->streams[i];
	return NULL;
}

const struct policy_stream *
policy_stream_for_user(const struct policy *policy, const char *auth_user)
{
	if (policy == NULL || auth_user == NULL || *auth_user == '\0')
		return NULL;
	for (size_t i = 0; i < policy->stream_count; i++)
		if (strlist_has(&policy->streams[i].auth_users, auth_user))
			return &policy->streams[i];
	return NULL;
}

/* The best score of an address against a list of patterns; -1: none matches. */
static int
best_score(const struct strlist *patterns, const char *address)
{
	int best = -1;

	for (size_t i = 0; i < patterns->count; i++) {
		int score = address_pattern_match(patterns->items[i], address);
		if (score > best)
			best = score;
	}
	return best;
}

/* The stream whose pattern list (at offset) matches most specifically; first among equals. */
static const struct policy_stream *
best_stream(const struct policy *policy, size_t list_offset, const char *address)
{
	const struct policy_stream *best = NULL;
	int best_score_seen = -1;

	for (size_t i = 0; policy != NULL && address != NULL && i < policy->stream_count; i++) {
		const struct policy_stream *s = &policy->streams[i];
		const struct strlist *list =
		    (const struct strlist *)((const char *)s + list_offset);
		int score = best_score(list, address);
		if (score > best_score_seen) {
			best = s;
			best_score_seen = score;
		}
	}
	return best;
}

const struct policy_stream *
policy_stream_for_sender(const struct policy *policy, const char *sender)
{
	return best_stream(policy, offsetof(struct policy_stream, senders), sender);
}

const struct policy_stream *
policy_stream_for_domain(const struct policy *policy, const char *from_domain)
{
	char address[300];

	if (from_domain == NULL || *from_domain == '\0')
		return NULL;
	/* default_for lists domain patterns: match them as patterns of any local part. */
	if ((size_t)snprintf(address, sizeof(address), "x@%s", from_domain) >= sizeof(address))
		return NULL;
	return best_stream(policy, offsetof(struct policy_stream, default_for), address);
}

static bool
identity_applies(const struct policy_identity *id, const char *auth_user,
                 const struct sockaddr *client)
{
	bool authenticated = auth_user != NULL && *auth_user != '\0';

	if (authenticated && (strlist_has(&id->users, auth_user) || strlist_has(&id->users, "*")))
		return true;
	return client != NULL && netlist_match(&id->nets, client) != NULL;
}

bool
policy_identity_allows(const struct policy *policy, const char *auth_user,
                       const struct sockaddr *client, const char *from)
{
	if (policy == NULL || policy->identity_count == 0)
		return true;
	for (size_t i = 0; i < policy->identity_count; i++) {
		const struct policy_identity *id = &policy->identities[i];
		if (identity_applies(id, auth_user, client) && best_score(&id->from, from) >= 0)
			return true;
	}
	return false;
}

const struct policy_user_limits *
policy_user_limits(const struct policy *policy, const char *auth_user)
{
	if (policy == NULL || auth_user == NULL || *auth_user == '\0')
		return NULL;
	for (size_t i = 0; i < policy->user_limit_count; i++)
		if (strlist_has(&policy->user_limits[i].users, auth_user))
			return &policy->user_limits[i];
	for (size_t i = 0; i < policy->user_limit_count; i++)
		if (strlist_has(&policy->user_limits[i].users, "*"))
			return &policy->user_limits[i];
	return NULL;
}

int
identity_finish(void *elem, struct buf *why)
{
	struct policy_identity *id = elem;
	char err[256];

	if (id->users.count == 0 && id->networks.count == 0) {
		buf_puts(why, "names nobody: give users, networks or both");
		return -1;
	}
	if (id->from.count == 0) {
		buf_puts(why, "\"from\" is empty: give the From addresses or domains they may use");
		return -1;
	}
	id->nets.nets = xcalloc(id->networks.count + 1, sizeof(struct cidr));
	for (size_t i = 0; i < id->networks.count; i++)
		if (cidr_parse(id->networks.items[i], &id->nets.nets[id->nets.count], err,
		               sizeof(err)))
			id->nets.count++;
	return 0;
}

void
identity_release(void *elem)
{
	netlist_free(&((struct policy_identity *)elem)->nets);
}

/* One value listed by two streams (at offset) is an error: which stream would it pick? */
static int
unique_across_streams(const struct policy *policy, size_t list_offset, const char *setting,
                      struct buf *errors)
{
	int problems = 0;

	for (size_t i = 0; i < policy->stream_count; i++) {
		const struct strlist *a =
		    (const struct strlist *)((const char *)&policy->streams[i] + list_offset);
		for (size_t k = 0; k < a->count; k++)
			for (size_t j = 0; j < i; j++) {
				const struct strlist *b =
				    (const struct strlist *)((const char *)&policy->streams[j] +
				                             list_offset);
				if (!strlist_has(b, a->items[k]))
					continue;
				buf_printf(
				    errors,
				    "%s: streams: %s \"%s\" is in streams \"%s\" and \"%s\"\n",
				    policy->path, setting, a->items[k], policy->streams[j].name,
				    policy->streams[i].name);
				problems++;
			}
	}
	return problems;
}

int
streams_cross_check(const struct policy *policy, struct buf *errors)
{
	return unique_across_streams(policy, offsetof(struct policy_stream, auth_users),
	                             "auth_users", errors) +
	       unique_across_streams(policy, offsetof(struct policy_stream, senders), "senders",
	                             errors) +
	       unique_across_streams(policy, offsetof(struct policy_stream, default_for),
	                             "default_for", errors);
}
