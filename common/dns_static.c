/*
 * dns_static - an in-memory resolver for unit tests; see dns.h.
 *
 * A flat list searched from the start: tests hold a few dozen records.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/dns_impl.h"
#include "common/xalloc.h"

struct static_record {
	char *name;
	enum dns_type type;
	bool fail;
	uint16_t pref;
	size_t len;
	char *data;
};

struct static_resolver {
	struct dns_resolver base; /* first: the resolver is cast to this */
	struct static_record *records;
	size_t count;
	unsigned lookups;
};

/* Names compare without a trailing dot. */
static bool
same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static void
static_lookup(struct dns_resolver *resolver, const char *name, enum dns_type type,
              unsigned timeout_ms, struct dns_answer *ans)
{
	struct static_resolver *st = (struct static_resolver *)resolver;
	bool name_exists = false;

	(void)timeout_ms;
	st->lookups++;
	for (size_t i = 0; i < st->count; i++) {
		struct static_record *r = &st->records[i];

		if (!same_name(r->name, name))
			continue;
		name_exists = true;
		if (r->type != type)
			continue;
		if (r->fail) {
			dns_answer_tempfail(ans, "SERVFAIL (test)");
			return;
		}
		dns_answer_add(ans, r->data, r->len, r->pref);
	}
	if (ans->count > 0)
		ans->status = DNS_FOUND;
	else
		ans->status = name_exists ? DNS_NODATA : DNS_NXDOMAIN;
}

static void
static_free(struct dns_resolver *resolver)
{
	struct static_resolver *st = (struct static_resolver *)resolver;

	for (size_t i = 0; i < st->count; i++) {
		free(st->records[i].name);
		free(st->records[i].data);
	}
	free(st->records);
	free(st);
}

static const struct dns_ops static_ops = { static_lookup, static_free };

struct dns_resolver *
dns_static_new(void)
{
	struct static_resolver *st = xcalloc(1, sizeof(*st));

	st->base.ops = &static_ops;
	st->base.query_timeout_ms = 1000;
	st->base.message_budget_ms = 10000;
	return &st->base;
}

static struct static_record *
add_record(struct dns_resolver *resolver, const char *name, enum dns_type type)
{
	struct static_resolver *st = (struct static_resolver *)resolver;
	struct static_record *r;

	st->records = xgrow(st->records, st->count, sizeof(*st->records));
	r = &st->records[st->count++];
	memset(r, 0, sizeof(*r));
	r->name = xstrdup(name);
	r->type = type;
	return r;
}

void
dns_static_add(struct dns_resolver *resolver, const char *name, enum dns_type type,
               const void *data, size_t len, uint16_t pref)
{
	struct static_record *r = add_record(resolver, name, type);

	r->pref = pref;
	r->len = len;
	r->data = xmalloc(len + 1);
	memcpy(r->data, data, len);
	r->data[len] = '\0';
}

void
dns_static_txt(struct dns_resolver *resolver, const char *name, const char *text)
{
	dns_static_add(resolver, name, DNS_T_TXT, text, strlen(text), 0);
}

void
dns_static_addr(struct dns_resolver *resolver, const char *name, const char *address)
{
	unsigned char bytes[16];

	if (inet_pton(AF_INET, address, bytes) == 1)
		dns_static_add(resolver, name, DNS_T_A, bytes, 4, 0);
	else if (inet_pton(AF_INET6, address, bytes) == 1)
		dns_static_add(resolver, name, DNS_T_AAAA, bytes, 16, 0);
	else
		abort(); /* a broken test */
}

void
dns_static_mx(struct dns_resolver *resolver, const char *name, uint16_t pref, const char *exchange)
{
	dns_static_add(resolver, name, DNS_T_MX, exchange, strlen(exchange), pref);
}

void
dns_static_ptr(struct dns_resolver *resolver, const char *name, const char *target)
{
	dns_static_add(resolver, name, DNS_T_PTR, target, strlen(target), 0);
}

void
dns_static_fail(struct dns_resolver *resolver, const char *name, enum dns_type type)
{
	add_record(resolver, name, type)->fail = true;
}

unsigned
dns_static_lookups(const struct dns_resolver *resolver)
{
	return ((const struct static_resolver *)resolver)->lookups;
}
