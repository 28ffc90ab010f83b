/*
 * spf - check_host() (RFC 7208 4, 5, 6); see spf.h.
 *
 * A check selects the one "v=spf1" TXT record of a domain, has
 * spf_record.c parse and validate it, then evaluates its mechanisms left
 * to right: the first match decides with its qualifier; with none, a
 * redirect= names the record that decides instead, else the result is
 * neutral.  An include matches when the included record passes.
 *
 * Limits, as pyspf counts them: the 11th include, a, mx, ptr, exists or
 * redirect= is a permerror; so is the 3rd lookup of any kind that answers
 * no records (except the explanation's), more than 10 MX records, and
 * only the first 10 PTR names are tried.  A name that cannot be a DNS name
 * (an empty label, a label over 63 bytes) is not looked up: it has no
 * records and is not counted as void.
 *
 * DNS errors are temperror, except in "ptr" and "%{p}" (RFC, not pyspf:
 * RFC 7208 5.5 and 7.3 make an unanswered PTR lookup a non-match or
 * "unknown", and skip a name whose address lookup fails; pyspf returns
 * temperror, which would let a client's own broken reverse DNS turn a
 * "-all" into a temporary error).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/spf_impl.h"
#include "common/xalloc.h"

/* Far beyond what the 10-term limit lets a record chain reach. */
#define SPF_MAX_DEPTH 20

/* What decided a record's result, kept for the top level's outcome. */
struct verdict {
	enum spf_result result;
	char *mechanism; /* the matching term, NULL for the default */
	char *exp;       /* the deciding record's exp= target */
	char *domain;    /* the deciding record's domain */
};

static void
verdict_free(struct verdict *v)
{
	free(v->mechanism);
	free(v->exp);
	free(v->domain);
	memset(v, 0, sizeof(*v));
}

int
spf_error(struct spf_ctx *ctx, enum spf_result result, const char *fmt, ...)
{
	va_list ap;

	if (ctx->error != SPF_NONE)
		return -1;
	ctx->error = result;
	buf_reset(&ctx->problem);
	va_start(ap, fmt);
	buf_vprintf(&ctx->problem, fmt, ap);
	va_end(ap);
	return -1;
}

int
spf_count_dns_term(struct spf_ctx *ctx)
{
	if (++ctx->dns_terms > SPF_MAX_DNS_TERMS)
		return spf_error(ctx, SPF_PERMERROR, "more than %d DNS-querying terms",
		                 SPF_MAX_DNS_TERMS);
	return 0;
}

/* Labels of 1 to 63 bytes, 253 bytes at most; one trailing dot allowed. */
static bool
name_valid(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > SPF_MAX_NAME)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			if (label == 0 || label > 63)
				return false;
			label = 0;
		} else {
			label++;
		}
	}
	return true;
}

static const char *
type_name(enum dns_type type)
{
	switch (type) {
	case DNS_T_A:
		return "A";
	case DNS_T_AAAA:
		return "AAAA";
	case DNS_T_MX:
		return "MX";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_TXT:
		return "TXT";
	}
	return "?";
}

/*
 * Look name up.  0: ans holds the records, or none (and then, if
 * count_void, the answer counted as void); -1: a DNS error (temperror) or
 * the void limit (permerror).  ans needs dns_answer_free() either way.
 */
static int
spf_lookup(struct spf_ctx *ctx, const char *name, enum dns_type type, bool count_void,
           struct dns_answer *ans)
{
	memset(ans, 0, sizeof(*ans));
	if (!name_valid(name)) {
		ans->status = DNS_NXDOMAIN;
		return 0;
	}
	switch (dns_lookup(ctx->resolver, ctx->budget, name, type, ans)) {
	case DNS_FOUND:
		return 0;
	case DNS_TEMPFAIL:
		return spf_error(ctx, SPF_TEMPERROR, "DNS %s lookup of %s: %s", type_name(type),
		                 name, ans->reason ? ans->reason : "failed");
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		break;
	}
	if (count_void && ++ctx->voids > SPF_MAX_VOID)
		return spf_error(ctx, SPF_PERMERROR, "more than %d void lookups (last: %s %s)",
		                 SPF_MAX_VOID, type_name(type), name);
	return 0;
}

static bool
prefix_match(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned bytes = prefix / 8, bits = prefix % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (bits == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (0xff00 >> bits) & 0xff) == 0;
}

static enum dns_type
address_type(const struct spf_ctx *ctx)
{
	return ctx->family == AF_INET ? DNS_T_A : DNS_T_AAAA;
}

/* Does an A/AAAA answer hold an address in the client's network? */
static bool
answer_matches(const struct spf_ctx *ctx, const struct dns_answer *ans, unsigned prefix)
{
	size_t want = ctx->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < ans->count; i++)
		if (ans->rr[i].len == want &&
		    prefix_match((const uint8_t *)ans->rr[i].data, ctx->ip, prefix))
			return true;
	return false;
}

/* 1: some address of name is in the client's network, 0: none, -1: error. */
static int
name_matches(struct spf_ctx *ctx, const char *name, unsigned prefix)
{
	struct dns_answer ans;
	int rc = spf_lookup(ctx, name, address_type(ctx), true, &ans);

	if (rc == 0)
		rc = answer_matches(ctx, &ans, prefix);
	dns_answer_free(&ans);
	return rc;
}

/* ----------------------------------------------------------- PTR names */

static void
reverse_name(const struct spf_ctx *ctx, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";

	if (ctx->family == AF_INET) {
		buf_printf(out, "%u.%u.%u.%u.in-addr.arpa", ctx->ip[3], ctx->ip[2], ctx->ip[1],
		           ctx->ip[0]);
		return;
	}
	for (int i = 15; i >= 0; i--)
		buf_printf(out, "%c.%c.", hex[ctx->ip[i] & 15], hex[ctx->ip[i] >> 4]);
	buf_puts(out, "ip6.arpa");
}

/*
 * The client's validated names (RFC 7208 5.5): of its first 10 PTR names,
 * those with an address equal to the client's.  DNS errors leave names out.
 */
static int
validated_names(struct spf_ctx *ctx, char ***names, size_t *count)
{
	struct buf rev = BUF_INIT;
	struct dns_answer ptr;
	int rc;

	*names = NULL;
	*count = 0;
	reverse_name(ctx, &rev);
	rc = spf_lookup(ctx, buf_str(&rev), DNS_T_PTR, true, &ptr);
	buf_free(&rev);
	if (rc < 0 && ctx->error == SPF_TEMPERROR) {
		ctx->error = SPF_NONE; /* RFC 7208 5.5: no names, no temperror */
		rc = 0;
	}
	for (size_t i = 0; rc == 0 && i < ptr.count && i < SPF_MAX_PTR; i++) {
		int m = name_matches(ctx, ptr.rr[i].data, ctx->family == AF_INET ? 32 : 128);
		if (m < 0 && ctx->error == SPF_TEMPERROR) {
			ctx->error = SPF_NONE; /* skip this name */
			continue;
		}
		if (m < 0)
			rc = -1;
		else if (m > 0) {
			*names = xgrow(*names, *count, sizeof(**names));
			(*names)[(*count)++] = xstrdup(ptr.rr[i].data);
		}
	}
	dns_answer_free(&ptr);
	return rc;
}

static void
names_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* name is domain or below it */
static bool
name_within(const char *name, const char *domain)
{
	size_t nl = strlen(name), dl = strlen(domain);

	if (nl == dl)
		return strcasecmp(name, domain) == 0;
	return nl > dl && name[nl - dl - 1] == '.' && strcasecmp(name + nl - dl, domain) == 0;
}

const char *
spf_ptr_name(struct spf_ctx *ctx, const char *domain)
{
	char **names;
	size_t count, pick = 0;

	if (ctx->ptr_name != NULL)
		return ctx->ptr_name;
	if (validated_names(ctx, &names, &count) < 0) {
		names_free(names, count);
		return NULL;
	}
	/* RFC 7208 7.3: the domain itself, else a name below it, else any */
	for (size_t i = 0; i < count; i++)
		if (strcasecmp(names[i], domain) == 0) {
			pick = i;
			goto found;
		}
	for (size_t i = 0; i < count; i++)
		if (name_within(names[i], domain)) {
			pick = i;
			goto found;
		}
found:
	ctx->ptr_name = xstrdup(count > 0 ? names[pick] : "unknown");
	names_free(names, count);
	return ctx->ptr_name;
}

/* ------------------------------------------------------------ mechanisms */

static int check_record(struct spf_ctx *ctx, const char *domain, unsigned depth, struct verdict *v);

static int
match_include(struct spf_ctx *ctx, const struct spf_term *t, unsigned depth)
{
	struct verdict inner = { 0 };
	int rc;

	if (spf_count_dns_term(ctx) < 0)
		return -1;
	rc = check_record(ctx, t->target, depth + 1, &inner);
	if (rc == 0 && inner.result == SPF_NONE)
		rc = spf_error(ctx, SPF_PERMERROR, "no SPF record at %s (%s)", t->target, t->text);
	if (rc == 0)
		rc = inner.result == SPF_PASS;
	verdict_free(&inner);
	return rc;
}

/* DNSSEC name order (RFC 4034 6.1): labels from the right, any case. */
static int
name_order(const char *a, const char *b)
{
	const char *ea = a + strlen(a), *eb = b + strlen(b);

	for (;;) {
		const char *sa = ea, *sb = eb;
		size_t la, lb;
		int c;

		if (ea == NULL || eb == NULL)
			return ea == eb ? 0 : ea == NULL ? -1 : 1;
		while (sa > a && sa[-1] != '.')
			sa--;
		while (sb > b && sb[-1] != '.')
			sb--;
		la = (size_t)(ea - sa);
		lb = (size_t)(eb - sb);
		c = strncasecmp(sa, sb, la < lb ? la : lb);
		if (c != 0)
			return c;
		if (la != lb)
			return la < lb ? -1 : 1;
		ea = sa > a ? sa - 1 : NULL;
		eb = sb > b ? sb - 1 : NULL;
	}
}

/* MX order as pyspf sorts them: preference, then name. */
static int
mx_compare(const void *pa, const void *pb)
{
	const struct dns_rr *a = pa, *b = pb;

	if (a->pref != b->pref)
		return a->pref < b->pref ? -1 : 1;
	return name_order(a->data, b->data);
}

static int
match_mx(struct spf_ctx *ctx, const struct spf_term *t)
{
	struct dns_answer mx;
	int rc, matched = 0;

	if (spf_count_dns_term(ctx) < 0)
		return -1;
	rc = spf_lookup(ctx, t->target, DNS_T_MX, true, &mx);
	if (rc == 0 && mx.count > SPF_MAX_MX)
		rc = spf_error(ctx, SPF_PERMERROR, "more than %d MX records for %s", SPF_MAX_MX,
		               t->target);
	if (rc == 0 && mx.count > 1)
		qsort(mx.rr, mx.count, sizeof(mx.rr[0]), mx_compare);
	/* every exchange is looked up before matching, as pyspf does */
	for (size_t i = 0; rc == 0 && i < mx.count; i++) {
		int m = name_matches(ctx, mx.rr[i].data, t->prefix);
		if (m < 0)
			rc = -1;
		else
			matched |= m;
	}
	dns_answer_free(&mx);
	return rc < 0 ? -1 : matched;
}

static int
match_ptr(struct spf_ctx *ctx, const struct spf_term *t)
{
	char **names;
	size_t count;
	int rc;

	if (spf_count_dns_term(ctx) < 0)
		return -1;
	rc = validated_names(ctx, &names, &count);
	for (size_t i = 0; rc == 0 && i < count; i++)
		if (name_within(names[i], t->target))
			rc = 1;
	names_free(names, count);
	return rc;
}

static int
match_exists(struct spf_ctx *ctx, const struct spf_term *t)
{
	struct dns_answer ans;
	int rc;

	if (spf_count_dns_term(ctx) < 0)
		return -1;
	/* RFC 7208 5.7: an A lookup whatever the client's family */
	rc = spf_lookup(ctx, t->target, DNS_T_A, true, &ans);
	if (rc == 0)
		rc = ans.count > 0;
	dns_answer_free(&ans);
	return rc;
}

/* 1: the term matches the client, 0: it does not, -1: error. */
static int
term_matches(struct spf_ctx *ctx, const struct spf_term *t, unsigned depth)
{
	switch (t->mech) {
	case SPF_MECH_ALL:
		return 1;
	case SPF_MECH_INCLUDE:
		return match_include(ctx, t, depth);
	case SPF_MECH_A:
		if (spf_count_dns_term(ctx) < 0)
			return -1;
		return name_matches(ctx, t->target, t->prefix);
	case SPF_MECH_MX:
		return match_mx(ctx, t);
	case SPF_MECH_PTR:
		return match_ptr(ctx, t);
	case SPF_MECH_IP4:
		return ctx->family == AF_INET && prefix_match(t->net, ctx->ip, t->prefix);
	case SPF_MECH_IP6:
		return ctx->family == AF_INET6 && prefix_match(t->net, ctx->ip, t->prefix);
	case SPF_MECH_EXISTS:
		return match_exists(ctx, t);
	}
	return spf_error(ctx, SPF_PERMERROR, "unknown mechanism %s", t->text);
}

/* ---------------------------------------------------------------- records */

static bool
is_spf_record(const struct dns_rr *rr)
{
	return rr->len >= 6 && strncasecmp(rr->data, "v=spf1", 6) == 0 &&
	       (rr->len == 6 || rr->data[6] == ' ');
}

/*
 * The one SPF record of domain (RFC 7208 4.5): 0 with *rr pointing into
 * ans, or NULL when there is none; -1 on error, several records included.
 */
static int
select_record(struct spf_ctx *ctx, const char *domain, struct dns_answer *ans,
              const struct dns_rr **rr)
{
	*rr = NULL;
	if (spf_lookup(ctx, domain, DNS_T_TXT, true, ans) < 0)
		return -1;
	for (size_t i = 0; i < ans->count; i++) {
		if (!is_spf_record(&ans->rr[i]))
			continue;
		if (*rr != NULL)
			return spf_error(ctx, SPF_PERMERROR, "more than one SPF record at %s",
			                 domain);
		*rr = &ans->rr[i];
	}
	return 0;
}

static int
evaluate(struct spf_ctx *ctx, const char *domain, const struct spf_record *rec, unsigned depth,
         struct verdict *v)
{
	for (size_t i = 0; i < rec->count; i++) {
		int m = term_matches(ctx, &rec->terms[i], depth);
		if (m < 0)
			return -1;
		if (m == 0)
			continue;
		v->result = rec->terms[i].qualifier;
		v->mechanism = xstrdup(rec->terms[i].text);
		goto decided;
	}
	if (rec->redirect != NULL) {
		/* the target's record decides, its exp= included (RFC 7208 6.1) */
		int rc = check_record(ctx, rec->redirect, depth, v);
		if (rc == 0 && v->result == SPF_NONE)
			rc = spf_error(ctx, SPF_PERMERROR, "no SPF record at redirect target %s",
			               rec->redirect);
		return rc;
	}
	v->result = SPF_NEUTRAL; /* RFC 7208 4.7 */
decided:
	v->exp = rec->exp ? xstrdup(rec->exp) : NULL;
	v->domain = xstrdup(domain);
	return 0;
}

/* check_host() for domain; SPF_NONE in v when it publishes no record. */
static int
check_record(struct spf_ctx *ctx, const char *domain, unsigned depth, struct verdict *v)
{
	struct dns_answer ans;
	const struct dns_rr *rr;
	struct spf_record rec;
	int rc;

	verdict_free(v);
	v->result = SPF_NONE;
	if (depth > SPF_MAX_DEPTH)
		return spf_error(ctx, SPF_PERMERROR, "records nested too deep");
	rc = select_record(ctx, domain, &ans, &rr);
	if (rc == 0 && rr != NULL) {
		rc = spf_record_parse(ctx, domain, rr->data, rr->len, &rec);
		if (rc == 0)
			rc = evaluate(ctx, domain, &rec, depth, v);
		spf_record_free(&rec);
	}
	dns_answer_free(&ans);
	return rc;
}

/* ------------------------------------------------------------ explanation */

/*
 * The exp= text for a fail (RFC 7208 6.2): one TXT record, expanded with
 * the deciding record's domain.  Any trouble means no explanation, a
 * control character included (RFC, not pyspf, which keeps it).  pyspf
 * fetches it while parsing, whatever the result; only a fail needs it.
 */
static char *
explanation(struct spf_ctx *ctx, const struct verdict *v)
{
	struct dns_answer ans;
	struct buf text = BUF_INIT;
	char *result = NULL;

	if (spf_lookup(ctx, v->exp, DNS_T_TXT, false, &ans) == 0 && ans.count == 1 &&
	    memchr(ans.rr[0].data, '\0', ans.rr[0].len) == NULL) {
		bool ascii = true;
		for (size_t i = 0; i < ans.rr[0].len; i++)
			ascii &= (unsigned char)ans.rr[0].data[i] < 0x80;
		if (ascii &&
		    spf_macro_expand(ctx, v->domain, ans.rr[0].data, SPF_MACRO_EXP, &text) == 0 &&
		    text.len > 0)
			result = xstrdup(buf_str(&text));
	}
	ctx->error = SPF_NONE; /* whatever failed, the fail stands */
	dns_answer_free(&ans);
	buf_free(&text);
	return result;
}

/* ----------------------------------------------------------- identities */

static bool
client_set(struct spf_ctx *ctx, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (sa != NULL && sa->sa_family == AF_INET) {
		ctx->family = AF_INET;
		memcpy(ctx->ip, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa == NULL || sa->sa_family != AF_INET6)
		return false;
	memcpy(ctx->ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	ctx->family = AF_INET6;
	if (memcmp(ctx->ip, mapped, sizeof(mapped)) == 0) {
		memmove(ctx->ip, ctx->ip + 12, 4);
		ctx->family = AF_INET;
	}
	return true;
}

/*
 * <domain> must be a multi-label name of valid labels (RFC 7208 4.3; a
 * single label is RFC, not pyspf, which looks it up), and, as pyspf has it,
 * without a trailing dot.
 */
static bool
domain_checkable(const char *domain)
{
	size_t len = strlen(domain);

	return name_valid(domain) && domain[len - 1] != '.' && strchr(domain, '.') != NULL;
}

static enum spf_result
run_check(struct spf_ctx *ctx, struct spf_outcome *out)
{
	struct verdict v = { 0 };
	enum spf_result result;

	if (!domain_checkable(out->domain))
		return SPF_NONE;
	if (check_record(ctx, out->domain, 0, &v) < 0) {
		out->problem = xstrdup(buf_str(&ctx->problem));
		verdict_free(&v);
		return ctx->error;
	}
	out->mechanism = v.mechanism;
	v.mechanism = NULL;
	if (v.result == SPF_FAIL && v.exp != NULL)
		out->explanation = explanation(ctx, &v);
	result = v.result;
	verdict_free(&v);
	return result;
}

static enum spf_result
check_identity(struct dns_resolver *resolver, struct dns_budget *budget,
               const struct spf_request *req, enum spf_identity identity, struct spf_outcome *out)
{
	struct spf_ctx ctx = { 0 };
	const char *from = identity == SPF_ID_MAILFROM ? req->mail_from : NULL;
	const char *at = from ? strrchr(from, '@') : NULL;
	char *local;

	memset(out, 0, sizeof(*out));
	if (from == NULL || from[0] == '\0')
		identity = SPF_ID_HELO; /* RFC 7208 2.4: postmaster@HELO */
	out->identity = identity;
	if (identity == SPF_ID_HELO) {
		local = xstrdup("postmaster");
		out->domain = xstrdup(req->helo ? req->helo : "");
	} else {
		/*
		 * RFC, not pyspf: the domain follows the last "@", and an empty
		 * local part reads "postmaster" in %{s} too (RFC 7208 4.3)
		 */
		local =
		    at && at > from ? xstrndup(from, (size_t)(at - from)) : xstrdup("postmaster");
		out->domain = xstrdup(at ? at + 1 : from);
	}
	out->sender = xasprintf("%s@%s", local, out->domain);
	ctx.resolver = resolver;
	ctx.budget = budget;
	ctx.sender = out->sender;
	ctx.local = local;
	ctx.sender_domain = out->domain;
	ctx.helo = req->helo ? req->helo : "";
	ctx.receiver = req->receiver ? req->receiver : "unknown";
	ctx.now = req->now != 0 ? req->now : (int64_t)time(NULL);
	if (!client_set(&ctx, req->client)) {
		out->result = SPF_PERMERROR;
		out->problem = xstrdup("client address is neither IPv4 nor IPv6");
	} else {
		out->result = run_check(&ctx, out);
	}
	free(local);
	free(ctx.ptr_name);
	buf_free(&ctx.problem);
	return out->result;
}

enum spf_result
spf_check_mail_from(struct dns_resolver *resolver, struct dns_budget *budget,
                    const struct spf_request *req, struct spf_outcome *out)
{
	return check_identity(resolver, budget, req, SPF_ID_MAILFROM, out);
}

enum spf_result
spf_check_helo(struct dns_resolver *resolver, struct dns_budget *budget,
               const struct spf_request *req, struct spf_outcome *out)
{
	return check_identity(resolver, budget, req, SPF_ID_HELO, out);
}

void
spf_outcome_free(struct spf_outcome *out)
{
	free(out->sender);
	free(out->domain);
	free(out->mechanism);
	free(out->explanation);
	free(out->problem);
	memset(out, 0, sizeof(*out));
}

const char *
spf_result_name(enum spf_result result)
{
	static const char *const names[] = {
		[SPF_NONE] = "none",           [SPF_NEUTRAL] = "neutral",
		[SPF_PASS] = "pass",           [SPF_FAIL] = "fail",
		[SPF_SOFTFAIL] = "softfail",   [SPF_TEMPERROR] = "temperror",
		[SPF_PERMERROR] = "permerror",
	};

	if ((unsigned)result < sizeof(names) / sizeof(names[0]))
		return names[result];
	return "?";
}
