/*
 * dmarc_walk - the DNS Tree Walk behind discovery and alignment (internal)
 *
 * Shared by dmarc_walk.c (discovery, Organizational Domains) and dmarc.c
 * (evaluation); nothing else includes it.  A walker serves one evaluation:
 * it keeps every _dmarc name it asked, so the walks for the From domain, the
 * SPF domain and each DKIM domain ask each name once (RFC 9989 B.4.1 reuses
 * the From domain's walk the same way).
 */
#ifndef MW_POLICY_DMARC_WALK_H
#define MW_POLICY_DMARC_WALK_H

#include <stdbool.h>

#include "common/buf.h"
#include "common/dns.h"
#include "policy/dmarc.h"

/* What one _dmarc name holds. */
struct dmarc_level {
	char *domain;    /* the name under _dmarc, normalized */
	bool tempfail;   /* the lookup failed for now */
	bool has_record; /* exactly one DMARC record there */
	enum dmarc_parse parse;
	struct dmarc_record record; /* has_record */
};

struct dmarc_walker {
	struct dns_resolver *resolver;
	struct dns_budget *budget;
	struct dmarc_level **levels; /* one allocation each: pointers stay valid */
	size_t count;
	struct buf why; /* the first temporary failure */
};

/* The end of one walk; pointers into the walker and the start domain. */
struct dmarc_walk {
	const char *org;                     /* the Organizational Domain */
	const struct dmarc_level *org_level; /* its record, if it has one and was asked */
	const struct dmarc_level *psd_level; /* the psd=y record the walk stopped at */
};

void dmarc_walker_init(struct dmarc_walker *w, struct dns_resolver *resolver,
                       struct dns_budget *budget);
void dmarc_walker_free(struct dmarc_walker *w);

/* Lower case, no trailing dot, LDH/underscore labels; NULL if not a domain name. */
char *dmarc_domain_normalize(const char *domain);
/* Is domain parent itself or a name under it?  Both normalized. */
bool dmarc_domain_within(const char *domain, const char *parent);

/* The _dmarc record(s) of a normalized domain, asked at most once. */
const struct dmarc_level *dmarc_level_get(struct dmarc_walker *w, const char *domain);
/* Walk up from start (normalized) to its Organizational Domain: 0, or -1 on tempfail. */
int dmarc_walk_from(struct dmarc_walker *w, const char *start, struct dmarc_walk *out);
/* Discovery for a normalized Author Domain (dmarc_discover() on a shared walker). */
enum dmarc_found dmarc_walker_discover(struct dmarc_walker *w, const char *author,
                                       struct dmarc_discovery *out);
/* Does domain exist (any of A, AAAA, MX not NXDOMAIN)?  0, or -1 on tempfail. */
int dmarc_domain_exists(struct dmarc_walker *w, const char *domain, bool *exists);

#endif
