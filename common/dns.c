/*
 * dns - budgets and answers shared by the resolver backends; see dns.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/dns_cache.h"
#include "common/dns_impl.h"
#include "common/xalloc.h"

int64_t
dns_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
dns_budget_start(const struct dns_resolver *resolver, struct dns_budget *budget)
{
	budget->deadline_us = dns_now_us() + (int64_t)resolver->message_budget_ms * 1000;
	budget->lookups = 0;
}

/* The time this lookup may take: the query limit or what the budget has left. */
static unsigned
lookup_timeout_ms(const struct dns_resolver *resolver, const struct dns_budget *budget)
{
	int64_t left_ms;

	if (budget == NULL)
		return resolver->query_timeout_ms;
	left_ms = (budget->deadline_us - dns_now_us()) / 1000;
	if (left_ms <= 0)
		return 0;
	if (left_ms < resolver->query_timeout_ms)
		return (unsigned)left_ms;
	return resolver->query_timeout_ms;
}

enum dns_status
dns_lookup(struct dns_resolver *resolver, struct dns_budget *budget, const char *name,
           enum dns_type type, struct dns_answer *ans)
{
	unsigned timeout_ms = lookup_timeout_ms(resolver, budget);
	int64_t started_us;

	memset(ans, 0, sizeof(*ans));
	if (timeout_ms == 0) {
		dns_answer_tempfail(ans, "DNS time budget spent");
		return ans->status;
	}
	if (budget != NULL)
		budget->lookups++;
	if (resolver->cache != NULL && dns_cache_get(resolver->cache, name, type, ans))
		return ans->status;
	started_us = resolver->observer != NULL ? dns_now_us() : 0;
	resolver->ops->lookup(resolver, name, type, timeout_ms, ans);
	if (ans->status == DNS_FOUND && ans->count == 0)
		ans->status = DNS_NODATA;
	if (resolver->observer != NULL)
		resolver->observer(resolver->observer_arg, type, ans->status,
		                   dns_now_us() - started_us);
	if (resolver->cache != NULL)
		dns_cache_put(resolver->cache, name, type, ans);
	return ans->status;
}

void
dns_answer_add(struct dns_answer *ans, const void *data, size_t len, uint16_t pref)
{
	struct dns_rr *rr;

	ans->rr = xgrow(ans->rr, ans->count, sizeof(*ans->rr));
	rr = &ans->rr[ans->count++];
	rr->pref = pref;
	rr->len = len;
	rr->data = xmalloc(len + 1);
	memcpy(rr->data, data, len);
	rr->data[len] = '\0';
}

void
dns_answer_tempfail(struct dns_answer *ans, const char *reason)
{
	ans->status = DNS_TEMPFAIL;
	free(ans->reason);
	ans->reason = xstrdup(reason);
}

void
dns_answer_free(struct dns_answer *ans)
{
	for (size_t i = 0; i < ans->count; i++)
		free(ans->rr[i].data);
	free(ans->rr);
	free(ans->reason);
	memset(ans, 0, sizeof(*ans));
}

void
dns_resolver_free(struct dns_resolver *resolver)
{
	if (resolver != NULL) {
		dns_cache_free(resolver->cache);
		resolver->ops->free(resolver);
	}
}

void
dns_resolver_observe(struct dns_resolver *resolver, dns_observer_fn fn, void *arg)
{
	resolver->observer = fn;
	resolver->observer_arg = arg;
}

const char *
dns_status_name(enum dns_status status)
{
	switch (status) {
	case DNS_FOUND:
		return "found";
	case DNS_NODATA:
		return "nodata";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}
