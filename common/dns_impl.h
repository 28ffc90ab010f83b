/*
 * dns_impl - what a resolver backend provides (dns_unbound.c, dns_static.c)
 *
 * dns.c owns the parts every backend shares (budgets, answers, names); a
 * backend fills in one answer for one name and type within a time limit.
 */
#ifndef MW_DNS_IMPL_H
#define MW_DNS_IMPL_H

#include "common/dns.h"

struct dns_ops {
	/* Fill ans (status included) within timeout_ms milliseconds. */
	void (*lookup)(struct dns_resolver *resolver, const char *name, enum dns_type type,
	               unsigned timeout_ms, struct dns_answer *ans);
	void (*free)(struct dns_resolver *resolver);
};

struct dns_cache;

struct dns_resolver {
	const struct dns_ops *ops;
	struct dns_cache *cache; /* NULL: every lookup goes to the backend */
	unsigned query_timeout_ms;
	unsigned message_budget_ms;
	dns_observer_fn observer; /* NULL: lookups are not timed */
	void *observer_arg;
};

/* Monotonic clock in microseconds. */
int64_t dns_now_us(void);
/* Append one record to an answer (copies data, adds a NUL after it). */
void dns_answer_add(struct dns_answer *ans, const void *data, size_t len, uint16_t pref);
/* Set TEMPFAIL with a reason. */
void dns_answer_tempfail(struct dns_answer *ans, const char *reason);

/*
 * dns_unbound.c: turn the records of a NOERROR answer with data (res->data,
 * res->len; rdata as unbound hands it over) into ans: FOUND, or TEMPFAIL
 * "malformed record".  Not static only so tests/fuzz can reach it.
 */
struct ub_result;
void dns_unbound_records(struct dns_answer *ans, enum dns_type type, const struct ub_result *res);

#endif
