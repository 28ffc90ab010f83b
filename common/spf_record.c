/*
 * spf_record - parse and validate one SPF record (RFC 7208 4.6, 5, 6)
 *
 * The whole record is checked before any term is evaluated (RFC 7208
 * 4.6): a syntax error anywhere is a permerror even when an earlier
 * mechanism would match.  As in pyspf, the domain-specs are expanded here
 * too, the redirect= modifier counts against the 10 DNS terms here (even
 * when an "all" makes it unused) and an include of the record's own domain
 * is a permerror.  Only printable ASCII and spaces may appear in a record
 * (RFC, not pyspf, for control characters: pyspf passes them on in names).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/spf_impl.h"
#include "common/xalloc.h"

/* No prefix given: the whole address. */
#define NO_PREFIX 1000u

struct mech_name {
	const char *name;
	enum spf_mech mech;
};

static const struct mech_name mech_names[] = {
	{ "all", SPF_MECH_ALL }, { "include", SPF_MECH_INCLUDE }, { "a", SPF_MECH_A },
	{ "mx", SPF_MECH_MX },   { "ptr", SPF_MECH_PTR },         { "ip4", SPF_MECH_IP4 },
	{ "ip6", SPF_MECH_IP6 }, { "exists", SPF_MECH_EXISTS },
};

/* The pieces of one mechanism term before validation. */
struct raw_mech {
	enum spf_result qualifier;
	char *name; /* lower case */
	char *arg;  /* after the first ":", NULL without one */
	unsigned prefix4, prefix6;
};

static bool
record_chars_valid(struct spf_ctx *ctx, const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c >= 0x80) {
			spf_error(ctx, SPF_PERMERROR, "non-ASCII characters in the record");
			return false;
		}
		if (c < 0x20 || c == 0x7f) {
			spf_error(ctx, SPF_PERMERROR, "control character 0x%02x in the record", c);
			return false;
		}
	}
	return true;
}

/*
 * A trailing "/N" (seplen 1) or "//N" (seplen 2), N being "0" or digits
 * without a leading zero, cut off the end of s: its value (capped), or
 * NO_PREFIX when s does not end so.
 */
static unsigned
cut_prefix(char *s, size_t *len, size_t seplen)
{
	size_t i = *len, digits;
	unsigned long v = 0;

	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	digits = *len - i;
	if (digits == 0 || i < seplen || (digits > 1 && s[i] == '0'))
		return NO_PREFIX;
	for (size_t k = 1; k <= seplen; k++)
		if (s[i - k] != '/')
			return NO_PREFIX;
	for (size_t k = i; k < *len; k++)
		v = v < NO_PREFIX ? v * 10 + (unsigned long)(s[k] - '0') : NO_PREFIX;
	*len = i - seplen;
	s[*len] = '\0';
	return v < NO_PREFIX ? (unsigned)v : NO_PREFIX - 1;
}

static void
raw_mech_split(const char *term, struct raw_mech *raw)
{
	char *s = xstrdup(term), *colon;
	size_t len = strlen(s);

	raw->qualifier = SPF_PASS;
	/* "//N" first: "a/24//64" has both, "a//64" only the IPv6 one */
	raw->prefix6 = cut_prefix(s, &len, 2);
	raw->prefix4 = cut_prefix(s, &len, 1);
	if ((colon = strchr(s, ':')) != NULL) {
		*colon = '\0';
		raw->arg = xstrdup(colon + 1);
	}
	raw->name = s;
	if (s[0] != '\0' && strchr("+-?~", s[0]) != NULL) {
		raw->qualifier = s[0] == '+'   ? SPF_PASS
		                 : s[0] == '-' ? SPF_FAIL
		                 : s[0] == '?' ? SPF_NEUTRAL
		                               : SPF_SOFTFAIL;
		memmove(s, s + 1, strlen(s));
	}
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

static int
mech_lookup(struct spf_ctx *ctx, const char *term, const char *name, enum spf_mech *mech)
{
	for (size_t i = 0; i < sizeof(mech_names) / sizeof(mech_names[0]); i++)
		if (strcmp(name, mech_names[i].name) == 0) {
			*mech = mech_names[i].mech;
			return 0;
		}
	return spf_error(ctx, SPF_PERMERROR, "unknown mechanism: %s", term);
}

/* Dotted quad without leading zeros, as RFC 7208's ip4-network. */
static bool
parse_ip4(const char *s, uint8_t *out)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0;
		int n = 0;
		if (i > 0 && *s++ != '.')
			return false;
		for (; isdigit((unsigned char)*s) && n < 4; s++, n++)
			v = v * 10 + (unsigned)(*s - '0');
		if (n == 0 || n > 3 || v > 255 || (n > 1 && s[-n] == '0'))
			return false;
		out[i] = (uint8_t)v;
	}
	return *s == '\0';
}

static bool
parse_ip6(const char *s, uint8_t *out)
{
	if (strspn(s, "0123456789abcdefABCDEF:.") != strlen(s))
		return false;
	return inet_pton(AF_INET6, s, out) == 1;
}

static int
check_ip(struct spf_ctx *ctx, const char *term, const struct raw_mech *raw, struct spf_term *t)
{
	bool v4 = t->mech == SPF_MECH_IP4;
	unsigned max = v4 ? 32 : 128;

	if (raw->prefix6 != NO_PREFIX)
		return spf_error(ctx, SPF_PERMERROR, "dual CIDR not allowed: %s", term);
	if (raw->prefix4 != NO_PREFIX && raw->prefix4 > max)
		return spf_error(ctx, SPF_PERMERROR, "invalid CIDR length: %s", term);
	t->prefix = raw->prefix4 != NO_PREFIX ? raw->prefix4 : max;
	if (raw->arg == NULL || !(v4 ? parse_ip4(raw->arg, t->net) : parse_ip6(raw->arg, t->net)))
		return spf_error(ctx, SPF_PERMERROR, "invalid %s address: %s", v4 ? "IP4" : "IP6",
		                 term);
	return 0;
}

static int
check_prefixes(struct spf_ctx *ctx, const char *term, const struct raw_mech *raw,
               struct spf_term *t)
{
	if (t->mech == SPF_MECH_A || t->mech == SPF_MECH_MX) {
		unsigned p4 = raw->prefix4 != NO_PREFIX ? raw->prefix4 : 32;
		unsigned p6 = raw->prefix6 != NO_PREFIX ? raw->prefix6 : 128;
		if (p4 > 32 || p6 > 128)
			return spf_error(ctx, SPF_PERMERROR, "invalid CIDR length: %s", term);
		t->prefix = ctx->family == AF_INET ? p4 : p6;
		return 0;
	}
	if (raw->prefix4 != NO_PREFIX || raw->prefix6 != NO_PREFIX)
		return spf_error(ctx, SPF_PERMERROR, "CIDR not allowed: %s", term);
	return 0;
}

/* The target name of a, mx, ptr, exists and include. */
static int
expand_target(struct spf_ctx *ctx, const char *domain, const char *term, const struct raw_mech *raw,
              struct spf_term *t)
{
	struct buf name = BUF_INIT;

	if (raw->arg == NULL) {
		if (t->mech == SPF_MECH_EXISTS || t->mech == SPF_MECH_INCLUDE)
			return spf_error(ctx, SPF_PERMERROR, "domain-spec required: %s", term);
		/* RFC, not pyspf: <domain> as it is, not checked as a domain-spec */
		t->target = xstrdup(domain);
		return 0;
	}
	if (spf_expand_domain(ctx, domain, raw->arg, &name) < 0) {
		buf_free(&name);
		return -1;
	}
	t->target = xstrdup(buf_str(&name));
	buf_free(&name);
	/* pyspf: an include of the record's own domain can only loop */
	if (t->mech == SPF_MECH_INCLUDE && strcmp(t->target, domain) == 0)
		return spf_error(ctx, SPF_PERMERROR, "include of its own domain: %s", term);
	return 0;
}

static int
mech_parse(struct spf_ctx *ctx, const char *domain, const char *term, struct spf_term *t)
{
	struct raw_mech raw = { 0 };
	int rc = -1;

	raw_mech_split(term, &raw);
	t->text = xstrdup(term);
	t->qualifier = raw.qualifier;
	if (mech_lookup(ctx, term, raw.name, &t->mech) < 0)
		goto out;
	switch (t->mech) {
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		rc = check_ip(ctx, term, &raw, t);
		break;
	case SPF_MECH_ALL:
		if (raw.arg != NULL)
			rc = spf_error(ctx, SPF_PERMERROR, "all takes no argument: %s", term);
		else
			rc = check_prefixes(ctx, term, &raw, t);
		break;
	default:
		rc = check_prefixes(ctx, term, &raw, t);
		if (rc == 0)
			rc = expand_target(ctx, domain, term, &raw, t);
	}
out:
	free(raw.name);
	free(raw.arg);
	return rc;
}

/* name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) followed by "=" */
static size_t
modifier_name_len(const char *term)
{
	size_t n;

	if (!isalpha((unsigned char)term[0]))
		return 0;
	n = 1 + strspn(term + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                         "0123456789-_.");
	return term[n] == '=' ? n : 0;
}

static int
modifier_target(struct spf_ctx *ctx, const char *domain, const char *term, const char *value,
                char **slot)
{
	struct buf name = BUF_INIT;
	int rc;

	if (*slot != NULL)
		return spf_error(ctx, SPF_PERMERROR, "modifier given twice: %s", term);
	rc = spf_expand_domain(ctx, domain, value, &name);
	if (rc == 0)
		*slot = xstrdup(buf_str(&name));
	buf_free(&name);
	return rc;
}

static int
modifier_parse(struct spf_ctx *ctx, const char *domain, const char *term, size_t namelen,
               struct spf_record *rec)
{
	const char *value = term + namelen + 1;
	struct buf ignored = BUF_INIT;
	int rc;

	/* RFC, not pyspf: modifier names are case-insensitive */
	if (namelen == 8 && strncasecmp(term, "redirect", 8) == 0) {
		if (rec->redirect != NULL)
			return spf_error(ctx, SPF_PERMERROR, "redirect given twice: %s", term);
		if (spf_count_dns_term(ctx) < 0)
			return -1;
		return modifier_target(ctx, domain, term, value, &rec->redirect);
	}
	if (namelen == 3 && strncasecmp(term, "exp", 3) == 0)
		return modifier_target(ctx, domain, term, value, &rec->exp);
	/*
	 * RFC, not pyspf: unknown modifiers are ignored however often they
	 * appear (RFC 7208 6), their macros checked but not expanded (no %{p}
	 * lookups for a value nobody uses)
	 */
	rc = spf_macro_expand(ctx, domain, value, SPF_MACRO_MODIFIER, &ignored);
	buf_free(&ignored);
	return rc;
}

static int
term_parse(struct spf_ctx *ctx, const char *domain, const char *term, struct spf_record *rec)
{
	size_t namelen = modifier_name_len(term);

	if (namelen > 0)
		return modifier_parse(ctx, domain, term, namelen, rec);
	rec->terms = xgrow(rec->terms, rec->count, sizeof(*rec->terms));
	memset(&rec->terms[rec->count], 0, sizeof(rec->terms[0]));
	return mech_parse(ctx, domain, term, &rec->terms[rec->count++]);
}

int
spf_record_parse(struct spf_ctx *ctx, const char *domain, const char *text, size_t len,
                 struct spf_record *rec)
{
	char *copy, *term, *save = NULL;
	int rc = 0;

	memset(rec, 0, sizeof(*rec));
	if (!record_chars_valid(ctx, text, len))
		return -1;
	copy = xstrndup(text, len);
	term = strtok_r(copy, " ", &save); /* "v=spf1", checked by the caller */
	while (rc == 0 && (term = strtok_r(NULL, " ", &save)) != NULL)
		rc = term_parse(ctx, domain, term, rec);
	free(copy);
	return rc;
}

void
spf_record_free(struct spf_record *rec)
{
	for (size_t i = 0; i < rec->count; i++) {
		free(rec->terms[i].text);
		free(rec->terms[i].target);
	}
	free(rec->terms);
	free(rec->redirect);
	free(rec->exp);
	memset(rec, 0, sizeof(*rec));
}
