/*
 * signing - the signing table: keys loaded with the snapshot, lookups
 *
 * Keys are read when a policy is loaded (at start-up as root, on SIGHUP as
 * the daemon's user), so a message never waits for a file, and a key that
 * cannot be used makes the whole policy fail with the entry's file:line.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include "policy/policy.h"
#include "policy/checks.h"
#include "policy/settings.h"
#include "policy/signing.h"
#include "common/secret_file.h"

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

bool
domain_pattern_covers(const char *entry, const char *domain)
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
			    domain_pattern_covers(d->domain, from_domain) &&
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

const char *
policy_bounce_domain(const struct policy *policy, const char *from_domain)
{
	if (from_domain == NULL)
		return NULL;
	for (int wildcard = 0; wildcard <= 1; wildcard++)
		for (size_t i = 0; i < policy->mail_from_count; i++) {
			const struct policy_mail_from *m = &policy->mail_from[i];
			if ((strncmp(m->domain, "*.", 2) == 0) == wildcard &&
			    domain_pattern_covers(m->domain, from_domain))
				return m->bounce_domain;
		}
	return NULL;
}

/* A VERP secret: a file of 16 to 64 bytes that only mailward may read. */
int
verp_key_finish(void *elem, struct buf *why)
{
	struct policy_verp_key *k = elem;
	int fd;
	ssize_t n;

	k->key.id = (unsigned)k->id;
	if ((fd = secret_file_open(k->file, "secret", why)) < 0)
		return -1;
	n = read(fd, k->key.secret, sizeof(k->key.secret));
	close(fd);
	if (n < VERP_SECRET_MIN) {
		buf_printf(why,
		           "%s: a secret needs at least %d bytes (head -c 32 /dev/urandom > %s)",
		           k->file, VERP_SECRET_MIN, k->file);
		return -1;
	}
	k->key.secret_len = (size_t)n;
	return 0;
}

/* A webhook URL: http:// or https://, a host, no spaces or control characters. */
bool
check_webhook_url(const char *value, char *err, size_t errlen)
{
	const char *host;

	if (strncmp(value, "https://", 8) == 0)
		host = value + 8;
	else if (strncmp(value, "http://", 7) == 0)
		host = value + 7;
	else {
		snprintf(err, errlen, "\"%s\" must start with https:// or http://", value);
		return false;
	}
	if (*host == '\0' || *host == '/' || *host == ':') {
		snprintf(err, errlen, "\"%s\" has no host", value);
		return false;
	}
	for (const char *p = value; *p; p++)
		if (!isgraph((unsigned char)*p)) {
			snprintf(err, errlen,
			         "\"%s\": spaces and control characters are not allowed", value);
			return false;
		}
	return true;
}

/* Is the host of an http:// URL a loopback address (no traffic leaves the machine)? */
static bool
url_host_is_loopback(const char *url)
{
	const char *host = url + strlen("http://");
	size_t len;

	if (*host == '[')
		return strncmp(host, "[::1]", 5) == 0;
	len = strcspn(host, ":/?#");
	if (len == strlen("localhost") && strncasecmp(host, "localhost", len) == 0)
		return true;
	return strncmp(host, "127.", 4) == 0;
}

/*
 * A webhook endpoint: plain http only where nothing crosses a network
 * (loopback) unless allow_http says so; its signing key is an RSA key read
 * and permission-checked like a DKIM key.
 */
int
webhook_finish(void *elem, struct buf *why)
{
	struct policy_webhook *w = elem;

	/* The name is a directory name: spool_dir/dead/NAME. */
	if (*w->name == '.' || strchr(w->name, '/') != NULL) {
		buf_printf(why, "name \"%s\" must not start with '.' or contain '/'", w->name);
		return -1;
	}
	if (strncmp(w->url, "http://", 7) == 0 && !w->allow_http && !url_host_is_loopback(w->url)) {
		buf_printf(why,
		           "%s: plain http to a host that is not loopback; use https:// "
		           "(or allow_http = true)",
		           w->url);
		return -1;
	}
	if (w->retry_max_ms < w->retry_min_ms) {
		buf_printf(why, "retry_max_ms (%ld) is less than retry_min_ms (%ld)",
		           w->retry_max_ms, w->retry_min_ms);
		return -1;
	}
	return dkim_key_load(w->signing_key, DKIM_ALG_RSA_SHA256, &w->key, why);
}

void
webhook_release(void *elem)
{
	dkim_key_free(&((struct policy_webhook *)elem)->key);
}
