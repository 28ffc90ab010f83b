/*
 * authres - Authentication-Results; see authres.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "milter/authres.h"

/* RFC 2045 token characters: printable ASCII except space and tspecials. */
static bool
is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= ' ' || c >= 0x7f || strchr("()<>@,;:\\\"/[]?=", c) != NULL)
			return false;
	}
	return true;
}

/* Letters, digits and the RFC 5322 atext specials, dots between. */
static bool
is_dot_atom(const char *s, size_t len)
{
	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.' && s[i + 1] == '.')
			return false;
		if (!isalnum(c) && strchr("!#$%&'*+/=?^_`{|}~.-", c) == NULL)
			return false;
	}
	return true;
}

static void
put_quoted(struct buf *out, const char *s)
{
	buf_puts(out, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_printf(out, "\\%c", c);
		else if (c < ' ' || c == 0x7f)
			buf_puts(out, " ");
		else
			buf_append(out, s, 1);
	}
	buf_puts(out, "\"");
}

/* " ptype.property=value", the value as a token, dot-atom address or quoted. */
static void
put_property(struct buf *out, const char *name, const char *value)
{
	const char *at;

	if (value == NULL)
		return;
	buf_printf(out, " %s=", name);
	at = strrchr(value, '@');
	if (is_token(value) || (at != NULL && is_dot_atom(at + 1, strlen(at + 1)) &&
	                        (at == value || is_dot_atom(value, (size_t)(at - value)))))
		buf_puts(out, value);
	else
		put_quoted(out, value);
}

/* " (text)" with parentheses and backslashes escaped, control characters blanked. */
static void
put_comment(struct buf *out, const char *text)
{
	if (text == NULL || *text == '\0')
		return;
	buf_puts(out, " (");
	for (; *text; text++) {
		unsigned char c = (unsigned char)*text;
		if (c == '(' || c == ')' || c == '\\')
			buf_printf(out, "\\%c", c);
		else if (c < ' ' || c == 0x7f)
			buf_puts(out, " ");
		else
			buf_append(out, text, 1);
	}
	buf_puts(out, ")");
}

static void
put_spf(struct buf *out, const struct spf_outcome *spf)
{
	buf_printf(out, ";\n\tspf=%s", spf_result_name(spf->result));
	put_comment(out, spf->problem);
	if (spf->identity == SPF_ID_HELO)
		put_property(out, "smtp.helo", spf->domain);
	else
		put_property(out, "smtp.mailfrom", spf->sender);
}

static void
put_dkim(struct buf *out, const struct dkim_result *r)
{
	char comment[160];

	buf_printf(out, ";\n\tdkim=%s", dkim_verdict_name(r->verdict));
	if (r->verdict == DKIM_PASS && r->key_bits > 0)
		snprintf(comment, sizeof(comment), "%d-bit key%s", r->key_bits,
		         r->testing ? "; testing" : "");
	else
		snprintf(comment, sizeof(comment), "%s", r->reason ? r->reason : "");
	put_comment(out, comment);
	put_property(out, "header.d", r->domain);
	put_property(out, "header.i", r->identity);
	put_property(out, "header.s", r->selector);
	put_property(out, "header.a", r->algorithm);
	if (r->b_prefix[0] != '\0')
		put_property(out, "header.b", r->b_prefix);
}

static void
put_dmarc(struct buf *out, const struct authres *ar)
{
	const struct dmarc_result *d = ar->dmarc;
	struct buf comment = BUF_INIT;

	buf_printf(out, ";\n\tdmarc=%s", dmarc_status_name(d->status));
	if (d->have_record) {
		buf_printf(&comment, "p=%s", dmarc_policy_name(d->record.p));
		if (d->record.sp_published)
			buf_printf(&comment, " sp=%s", dmarc_policy_name(d->record.sp));
		if (d->record.np_published)
			buf_printf(&comment, " np=%s", dmarc_policy_name(d->record.np));
		buf_printf(&comment, " dis=%s", ar->disposition ? ar->disposition : "none");
		if (ar->override != NULL)
			buf_printf(&comment, " override=%s", ar->override);
	} else if (d->reason.len > 0) {
		buf_puts(&comment, buf_str(&d->reason));
	}
	put_comment(out, buf_str(&comment));
	buf_free(&comment);
	put_property(out, "header.from", ar->dmarc_from);
}

void
authres_format(const struct authres *ar, struct buf *value)
{
	size_t start;

	buf_puts(value, " ");
	start = value->len;
	buf_puts(value, ar->authserv_id);
	if (ar->spf != NULL)
		put_spf(value, ar->spf);
	if (ar->dkim_checked && ar->n_dkim == 0)
		buf_puts(value, ";\n\tdkim=none");
	for (size_t i = 0; i < ar->n_dkim; i++)
		put_dkim(value, &ar->dkim[i]);
	if (ar->dmarc != NULL) {
		put_dmarc(value, ar);
	} else if (ar->dmarc_problem != NULL) {
		buf_puts(value, ";\n\tdmarc=permerror");
		put_comment(value, ar->dmarc_problem);
	}
	if (strchr(value->data + start, ';') == NULL)
		buf_puts(value, "; none");
}

/* Skip white space and (nested) comments. */
static const char *
skip_cfws(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '(')
			return p;
		int depth = 0;
		do {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			p++;
		} while (*p != '\0' && depth > 0);
	}
}

bool
authres_claims(const char *value, const char *authserv_id)
{
	const char *p = skip_cfws(value), *end = p;
	size_t len = strlen(authserv_id);

	while (*end != '\0' && *end != ';' && *end != '(' && !isspace((unsigned char)*end))
		end++;
	return (size_t)(end - p) == len && len > 0 && strncasecmp(p, authserv_id, len) == 0;
}
