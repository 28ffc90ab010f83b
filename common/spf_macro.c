/*
 * spf_macro - macro-strings and domain-specs (RFC 7208 7); see spf_impl.h.
 *
 * The grammar is checked strictly: "%" starts "%%", "%_", "%-" or a
 * "%{letter digits [r] delimiters}" and nothing else, literal characters
 * are visible ASCII, and a domain-spec ends in a macro or in a "." and a
 * toplabel.  Expansion splits a value on its delimiters (default "."),
 * optionally reverses the parts, keeps the rightmost ones and joins them
 * with "." (RFC, not pyspf: pyspf keeps the original delimiters between
 * the parts of letters other than l and s, accepts and ignores junk inside
 * the braces such as "%{dd}" and treats "%{d0}" as "drop the first part").
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/spf_impl.h"
#include "common/xalloc.h"

/* More parts than any name can have: "%{d999}" keeps them all. */
#define KEEP_ALL 1000

struct macro {
	char letter; /* lower case */
	bool escape; /* written in upper case: URL-escape the result */
	unsigned keep;
	bool reverse;
	char delims[8];
};

static bool
is_delimiter(char c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

static bool
is_macro_literal(char c)
{
	return c >= 0x21 && c <= 0x7e && c != '%';
}

/*
 * Parse "{letter transformers delimiters}" after a "%": the length of the
 * braces on success, 0 on a syntax error.
 */
static size_t
macro_parse(const char *s, struct macro *m)
{
	const char *p = s + 1;
	size_t nd = 0;

	memset(m, 0, sizeof(*m));
	if (*s != '{' || *p == '\0' || strchr("slodiphcrtvSLODIPHCRTV", *p) == NULL)
		return 0;
	m->letter = (char)tolower((unsigned char)*p);
	m->escape = isupper((unsigned char)*p);
	p++;
	if (*p >= '0' && *p <= '9') {
		unsigned long n = 0;
		for (; *p >= '0' && *p <= '9'; p++)
			n = n < KEEP_ALL ? n * 10 + (unsigned long)(*p - '0') : KEEP_ALL;
		if (n == 0) /* RFC 7208 7.3: the value MUST be nonzero */
			return 0;
		m->keep = n < KEEP_ALL ? (unsigned)n : KEEP_ALL;
	}
	/* RFC, not pyspf: ABNF literals are case-insensitive, "R" reverses too */
	if (*p == 'r' || *p == 'R') {
		m->reverse = true;
		p++;
	}
	for (; is_delimiter(*p); p++)
		if (nd < sizeof(m->delims) - 1 && strchr(m->delims, *p) == NULL)
			m->delims[nd++] = *p;
	if (*p != '}')
		return 0;
	return (size_t)(p - s) + 1;
}

/* Client address as the "i" macro wants it: dotted quad or dotted nibbles. */
static void
value_ip_dotted(const struct spf_ctx *ctx, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";

	if (ctx->family == AF_INET) {
		buf_printf(out, "%u.%u.%u.%u", ctx->ip[0], ctx->ip[1], ctx->ip[2], ctx->ip[3]);
		return;
	}
	/* RFC, not pyspf: nibbles in lower case, as in RFC 7208 7.4 */
	for (int i = 0; i < 16; i++) {
		char nib[4] = { hex[ctx->ip[i] >> 4], '.', hex[ctx->ip[i] & 15], '.' };
		buf_append(out, nib, i == 15 ? 3 : 4);
	}
}

/* RFC 5952 text: lower case, longest run (>1) of zero groups as "::". */
static void
value_ip_readable(const struct spf_ctx *ctx, struct buf *out)
{
	unsigned g[8];
	int best = -1, best_len = 1;

	if (ctx->family == AF_INET) {
		value_ip_dotted(ctx, out);
		return;
	}
	for (int i = 0; i < 8; i++)
		g[i] = (unsigned)ctx->ip[2 * i] << 8 | ctx->ip[2 * i + 1];
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
		i = j > i ? j : i + 1;
	}
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			buf_puts(out, "::");
			i += best_len - 1;
			continue;
		}
		if (i > 0 && i != best + best_len)
			buf_puts(out, ":");
		buf_printf(out, "%x", g[i]);
	}
}

static int
macro_value(struct spf_ctx *ctx, const char *domain, char letter, struct buf *out)
{
	const char *p;

	switch (letter) {
	case 's':
		buf_puts(out, ctx->sender);
		return 0;
	case 'l':
		buf_puts(out, ctx->local);
		return 0;
	case 'o':
		buf_puts(out, ctx->sender_domain);
		return 0;
	case 'd':
		buf_puts(out, domain);
		return 0;
	case 'i':
		value_ip_dotted(ctx, out);
		return 0;
	case 'c':
		value_ip_readable(ctx, out);
		return 0;
	case 'v':
		buf_puts(out, ctx->family == AF_INET ? "in-addr" : "ip6");
		return 0;
	case 'h':
		buf_puts(out, ctx->helo);
		return 0;
	case 'r':
		buf_puts(out, ctx->receiver);
		return 0;
	case 't':
		buf_printf(out, "%" PRId64, ctx->now);
		return 0;
	case 'p':
		if ((p = spf_ptr_name(ctx, domain)) == NULL)
			return -1;
		buf_puts(out, p);
		return 0;
	}
	return -1; /* macro_parse() let no other letter through */
}

/* Split on the delimiters, reverse, keep the rightmost parts, join with ".". */
static void
macro_transform(const struct macro *m, const char *value, struct buf *out)
{
	const char *delims = m->delims[0] != '\0' ? m->delims : ".";
	const char **parts = NULL;
	size_t *lens = NULL, n = 0, first;
	const char *p = value;

	for (;;) {
		size_t len = strcspn(p, delims);
		parts = xgrow(parts, n, sizeof(*parts));
		lens = xgrow(lens, n, sizeof(*lens));
		parts[n] = p;
		lens[n++] = len;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	if (m->reverse)
		for (size_t i = 0; i < n / 2; i++) {
			const char *tp = parts[i];
			size_t tl = lens[i];
			parts[i] = parts[n - 1 - i];
			lens[i] = lens[n - 1 - i];
			parts[n - 1 - i] = tp;
			lens[n - 1 - i] = tl;
		}
	first = m->keep > 0 && m->keep < n ? n - m->keep : 0;
	for (size_t i = first; i < n; i++) {
		if (i > first)
			buf_puts(out, ".");
		buf_append(out, parts[i], lens[i]);
	}
	free(parts);
	free(lens);
}

/* RFC 3986 2.3: everything but the unreserved characters as %XX. */
static void
url_escape(const char *s, struct buf *out)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			buf_append(out, s, 1);
		else
			buf_printf(out, "%%%02X", c);
	}
}

static int
macro_expand_one(struct spf_ctx *ctx, const char *domain, const struct macro *m, struct buf *out)
{
	struct buf value = BUF_INIT, shaped = BUF_INIT;
	int rc = macro_value(ctx, domain, m->letter, &value);

	if (rc == 0) {
		if (m->keep == 0 && !m->reverse && m->delims[0] == '\0')
			buf_append(&shaped, value.data ? value.data : "", value.len);
		else
			macro_transform(m, buf_str(&value), &shaped);
		if (m->escape)
			url_escape(buf_str(&shaped), out);
		else
			buf_append(out, shaped.data ? shaped.data : "", shaped.len);
	}
	buf_free(&value);
	buf_free(&shaped);
	return rc;
}

static int
syntax_error(struct spf_ctx *ctx, const char *what, const char *s)
{
	return spf_error(ctx, SPF_PERMERROR, "%s: %s", what, s);
}

int
spf_macro_expand(struct spf_ctx *ctx, const char *domain, const char *s, enum spf_macro_use use,
                 struct buf *out)
{
	for (const char *p = s; *p;) {
		struct macro m;
		size_t n;

		if (*p == ' ' && use == SPF_MACRO_EXP) {
			buf_append(out, p++, 1);
			continue;
		}
		if (*p != '%') {
			if (!is_macro_literal(*p))
				return syntax_error(ctx, "invalid character in", s);
			buf_append(out, p++, 1);
			continue;
		}
		if (p[1] == '%' || p[1] == '_' || p[1] == '-') {
			buf_puts(out, p[1] == '%' ? "%" : p[1] == '_' ? " " : "%20");
			p += 2;
			continue;
		}
		if ((n = macro_parse(p + 1, &m)) == 0)
			return syntax_error(ctx, "invalid macro in", s);
		if (use != SPF_MACRO_EXP && strchr("crt", m.letter) != NULL)
			return syntax_error(ctx, "c, r and t macros are for exp= text only", s);
		if (use != SPF_MACRO_MODIFIER && macro_expand_one(ctx, domain, &m, out) < 0)
			return -1;
		p += 1 + n;
	}
	return 0;
}

static bool
is_toplabel(const char *s, size_t len)
{
	bool alpha = false, dash = false;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (isalpha((unsigned char)s[i]))
			alpha = true;
		else if (s[i] == '-')
			dash = true;
		else if (!isdigit((unsigned char)s[i]))
			return false;
	}
	if (dash)
		return s[0] != '-' && s[len - 1] != '-';
	return alpha;
}

/*
 * domain-end = ( "." toplabel [ "." ] ) / macro-expand: the text after the
 * last macro must end that way, unless a macro ends the spec.
 */
static bool
domain_end_valid(const char *spec)
{
	const char *tail = spec, *dot;
	size_t len;

	for (const char *p = spec; *p;) {
		struct macro m;
		size_t n = 0;
		if (*p != '%') {
			p++;
			continue;
		}
		if (p[1] == '%' || p[1] == '_' || p[1] == '-')
			n = 1;
		else if ((n = macro_parse(p + 1, &m)) == 0)
			return false;
		p += 1 + n;
		tail = p;
	}
	len = strlen(tail);
	if (len == 0)
		return tail != spec; /* ends in a macro; an empty spec is not */
	if (tail[len - 1] == '.')
		len--;
	for (dot = tail + len; dot > tail && dot[-1] != '.'; dot--)
		;
	if (dot == tail)
		return false; /* no "." before the last label */
	return is_toplabel(dot, len - (size_t)(dot - tail));
}

int
spf_expand_domain(struct spf_ctx *ctx, const char *domain, const char *spec, struct buf *out)
{
	const char *name;

	if (!domain_end_valid(spec))
		return syntax_error(ctx, "invalid domain-spec (use a fully qualified name)", spec);
	buf_reset(out);
	if (spf_macro_expand(ctx, domain, spec, SPF_MACRO_DOMAIN, out) < 0)
		return -1;
	if (out->len > 0 && out->data[out->len - 1] == '.')
		out->data[--out->len] = '\0';
	/* RFC 7208 7.3: drop labels from the left until the name fits */
	name = buf_str(out);
	while (strlen(name) > SPF_MAX_NAME && strchr(name, '.') != NULL)
		name = strchr(name, '.') + 1;
	if (name != out->data) {
		size_t skip = (size_t)(name - out->data);
		memmove(out->data, name, out->len - skip + 1);
		out->len -= skip;
	}
	if (out->len == 0)
		return syntax_error(ctx, "domain-spec expands to nothing", spec);
	return 0;
}
