/*
 * dns - the one resolver every inbound check asks
 *
 * SPF, DKIM key retrieval and DMARC discovery all look names up through
 * dns_lookup(); nothing in mailward calls res_query() or a library's own
 * DNS path.  Every lookup has one of four outcomes, and a timeout is never
 * read as "no record":
 *
 *	DNS_FOUND     answers of the asked type are in ans->rr
 *	DNS_NODATA    the name exists but has no record of that type
 *	DNS_NXDOMAIN  the name does not exist
 *	DNS_TEMPFAIL  timeout, SERVFAIL, REFUSED, network error, DNSSEC bogus,
 *	              or the message's time budget is spent
 *
 * A budget belongs to one message: every lookup made for it draws on the
 * same deadline (dns.message_budget), each lookup has its own limit too
 * (dns.query_timeout), whichever ends first.
 *
 * Two backends share this interface: dns_unbound.c (libunbound with its
 * cache, forwarders, optional DNSSEC; production) and dns_static.c (an
 * in-memory table; unit tests of SPF, DKIM and DMARC).  Resolvers are
 * thread-safe: every connection thread uses the same one.
 */
#ifndef MW_DNS_H
#define MW_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

enum dns_type {
	DNS_T_A = 1,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
};

enum dns_status {
	DNS_FOUND,
	DNS_NODATA,
	DNS_NXDOMAIN,
	DNS_TEMPFAIL,
};

/*
 * One resource record.  TXT: the character-strings of the record
 * concatenated (binary-safe: len counts, data may hold NUL bytes); A and
 * AAAA: 4 or 16 raw address bytes; MX: the exchange name with pref set; PTR:
 * the name.  Names are in presentation form without the trailing dot and
 * NUL-terminated.
 */
struct dns_rr {
	uint16_t pref; /* MX only */
	size_t len;
	char *data;
};

struct dns_answer {
	enum dns_status status;
	bool secure;  /* DNSSEC-validated (only when validation is on) */
	uint32_t ttl; /* seconds the answer may be kept (0: not at all) */
	char *reason; /* TEMPFAIL: why ("timeout", "SERVFAIL", ...); else NULL */
	size_t count;
	struct dns_rr *rr;
};

struct dns_forward_zone {
	char *zone;
	char **servers; /* "ADDR" or "ADDR@PORT" */
	size_t n_servers;
};

struct dns_config {
	char **nameservers; /* forwarders, "ADDR" or "ADDR@PORT"; none: /etc/resolv.conf */
	size_t n_nameservers;
	struct dns_forward_zone *zones; /* per-zone forwarders (split horizon) */
	size_t n_zones;
	unsigned query_timeout_ms;  /* one lookup */
	unsigned message_budget_ms; /* all lookups for one message */
	bool dnssec;                /* validate with trust_anchor_file */
	const char *trust_anchor_file;
};

struct dns_budget {
	int64_t deadline_us; /* monotonic clock, microseconds */
	unsigned lookups;    /* made so far (for logs) */
};

struct dns_resolver;

/* libunbound resolver; NULL with the reason in err. */
struct dns_resolver *dns_resolver_new(const struct dns_config *cfg, struct buf *err);
void dns_resolver_free(struct dns_resolver *resolver);

/* Start the budget of one message (dns.message_budget from now). */
void dns_budget_start(const struct dns_resolver *resolver, struct dns_budget *budget);

/*
 * Look name up (no trailing dot needed; case-insensitive).  The answer is
 * always filled in, status included, and must be released with
 * dns_answer_free() whatever the status.  budget may be NULL (tools).
 */
enum dns_status dns_lookup(struct dns_resolver *resolver, struct dns_budget *budget,
                           const char *name, enum dns_type type, struct dns_answer *ans);
void dns_answer_free(struct dns_answer *ans);

const char *dns_status_name(enum dns_status status);

/*
 * Called after every lookup the backend answered (cache hits and spent
 * budgets are not), with the time it took: how metrics time DNS without
 * dns knowing about them.  Set before the resolver is shared; the
 * function must be thread-safe.
 */
typedef void (*dns_observer_fn)(void *arg, enum dns_type type, enum dns_status status,
                                int64_t elapsed_us);
void dns_resolver_observe(struct dns_resolver *resolver, dns_observer_fn fn, void *arg);

/*
 * The in-memory backend (dns_static.c).  Names match case-insensitively; a
 * name with records of another type answers NODATA, an unknown name
 * NXDOMAIN, and dns_static_fail() makes a name/type answer TEMPFAIL.
 * Not thread-safe while being filled; lookups are counted for tests.
 */
struct dns_resolver *dns_static_new(void);
void dns_static_add(struct dns_resolver *resolver, const char *name, enum dns_type type,
                    const void *data, size_t len, uint16_t pref);
/* Convenience: TXT from a C string, A/AAAA from text, MX/PTR from a name. */
void dns_static_txt(struct dns_resolver *resolver, const char *name, const char *text);
void dns_static_addr(struct dns_resolver *resolver, const char *name, const char *address);
void dns_static_mx(struct dns_resolver *resolver, const char *name, uint16_t pref,
                   const char *exchange);
void dns_static_ptr(struct dns_resolver *resolver, const char *name, const char *target);
void dns_static_fail(struct dns_resolver *resolver, const char *name, enum dns_type type);
unsigned dns_static_lookups(const struct dns_resolver *resolver);

#endif
