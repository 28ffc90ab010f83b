/*
 * spf_impl - what the SPF modules share (spf.c, spf_record.c, spf_macro.c)
 *
 * One struct spf_ctx lives for one check_host() run with everything it
 * recurses into (include, redirect): the client, the macro values, the
 * processing-limit counters and the first error met.  Functions that can
 * fail return -1 after spf_error() recorded why; the first error wins,
 * later ones only unwind.
 */
#ifndef MW_SPF_IMPL_H
#define MW_SPF_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/dns.h"
#include "common/spf.h"

/* RFC 7208 4.6.4 */
#define SPF_MAX_DNS_TERMS 10
#define SPF_MAX_VOID      2
#define SPF_MAX_MX        10
#define SPF_MAX_PTR       10
#define SPF_MAX_NAME      253

struct spf_ctx {
	struct dns_resolver *resolver;
	struct dns_budget *budget;
	int family; /* AF_INET (mapped IPv6 clients too) or AF_INET6 */
	uint8_t ip[16];
	/* macro values (RFC 7208 7.3) */
	const char *sender;        /* s */
	const char *local;         /* l */
	const char *sender_domain; /* o */
	const char *helo;          /* h */
	const char *receiver;      /* r */
	int64_t now;               /* t */
	char *ptr_name;            /* p, computed on first use, as pyspf does */
	/* processing limits */
	unsigned dns_terms;
	unsigned voids;
	/* the first error: SPF_TEMPERROR or SPF_PERMERROR, SPF_NONE while none */
	enum spf_result error;
	struct buf problem;
};

enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

struct spf_term {
	enum spf_mech mech;
	enum spf_result qualifier; /* SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_NEUTRAL */
	char *text;                /* as published */
	char *target;              /* a, mx, ptr, exists, include: the expanded domain */
	unsigned prefix;           /* a, mx: for the client's family; ip4, ip6 */
	uint8_t net[16];           /* ip4 (4 bytes), ip6 */
};

struct spf_record {
	struct spf_term *terms;
	size_t count;
	char *redirect; /* expanded redirect= target, or NULL */
	char *exp;      /* expanded exp= target, or NULL */
};

/* Record the first error (result SPF_TEMPERROR or SPF_PERMERROR); returns -1. */
int spf_error(struct spf_ctx *ctx, enum spf_result result, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Count one DNS-querying term (include, a, mx, ptr, exists, redirect). */
int spf_count_dns_term(struct spf_ctx *ctx);

/* %{p} for the current domain: a validated name of the client or "unknown". */
const char *spf_ptr_name(struct spf_ctx *ctx, const char *domain);

/*
 * Parse and validate one record (text of len bytes, "v=spf1" included)
 * published at domain, expanding the domain-specs of its terms.
 */
int spf_record_parse(struct spf_ctx *ctx, const char *domain, const char *text, size_t len,
                     struct spf_record *rec);
void spf_record_free(struct spf_record *rec);

enum spf_macro_use {
	SPF_MACRO_DOMAIN,   /* a domain-spec: no c, r, t; trailing dot dropped */
	SPF_MACRO_MODIFIER, /* an unknown modifier's value: checked, not used */
	SPF_MACRO_EXP,      /* explanation text: spaces, c, r and t allowed */
};

/*
 * Check the macro-string s and append its expansion to out, %{d} being
 * domain.  A syntax error, or a letter not allowed for use, is a permerror.
 */
int spf_macro_expand(struct spf_ctx *ctx, const char *domain, const char *s, enum spf_macro_use use,
                     struct buf *out);
/* Check and expand a domain-spec (RFC 7208 7.1) into a name to look up. */
int spf_expand_domain(struct spf_ctx *ctx, const char *domain, const char *spec, struct buf *out);

#endif
