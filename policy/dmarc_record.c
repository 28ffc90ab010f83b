/*
 * dmarc_record - the DMARC Policy Record parser; see dmarc.h.
 *
 * RFC 9989 4.7/4.8: a tag-value list whose first tag must be v=DMARC1 (the
 * value case-sensitive, everything else not), unknown tags ignored, a bad
 * value replaced by the tag's default.  Two passes: the first splits the
 * list and files each known tag's value (so a duplicate can be seen before
 * anything is believed), the second reads the values.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"
#include "policy/dmarc.h"

enum tag {
	TAG_P,
	TAG_SP,
	TAG_NP,
	TAG_ADKIM,
	TAG_ASPF,
	TAG_T,
	TAG_PCT,
	TAG_PSD,
	TAG_FO,
	TAG_RUA,
	TAG_RUF,
	TAG_COUNT,
};

static const char *const tag_names[TAG_COUNT] = {
	"p", "sp", "np", "adkim", "aspf", "t", "pct", "psd", "fo", "rua", "ruf",
};

/* A slice of the record text. */
struct span {
	const char *s;
	size_t len;
};

struct tag_seen {
	struct span value;
	unsigned count;
};

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct span
trim(struct span v)
{
	while (v.len > 0 && is_wsp(v.s[0])) {
		v.s++;
		v.len--;
	}
	while (v.len > 0 && is_wsp(v.s[v.len - 1]))
		v.len--;
	return v;
}

static bool
span_is(struct span v, const char *word)
{
	return v.len == strlen(word) && strncasecmp(v.s, word, v.len) == 0;
}

/* One line of err: what was wrong with which part of the record. */
static void
note(struct buf *err, struct span part, const char *what)
{
	if (err != NULL)
		buf_printf(err, "\"%.*s\": %s\n", (int)part.len, part.s, what);
}

/* The same for the value of a known tag. */
static void
note_tag(struct buf *err, enum tag t, struct span value, const char *what)
{
	if (err != NULL)
		buf_printf(err, "\"%s=%.*s\": %s\n", tag_names[t], (int)value.len, value.s, what);
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* dmarc-value: printing characters but ";" (the splitter already took those). */
static bool
value_chars_ok(struct span v)
{
	for (size_t i = 0; i < v.len; i++)
		if ((unsigned char)v.s[i] < 0x20 || (unsigned char)v.s[i] > 0x7e)
			return false;
	return v.len > 0;
}

static bool
name_chars_ok(struct span v)
{
	for (size_t i = 0; i < v.len; i++)
		if (!is_alpha(v.s[i]))
			return false;
	return v.len > 0;
}

/* Split "name = value" (both trimmed); false without an "=". */
static bool
split_tag(struct span spec, struct span *name, struct span *value)
{
	const char *eq = memchr(spec.s, '=', spec.len);

	if (eq == NULL)
		return false;
	*name = trim((struct span){ spec.s, (size_t)(eq - spec.s) });
	*value = trim((struct span){ eq + 1, spec.len - (size_t)(eq - spec.s) - 1 });
	return true;
}

/* The next sep-separated item of *rest, trimmed; false once none is left. */
static bool
next_item(struct span *rest, char sep, struct span *item)
{
	const char *at;

	if (rest->s == NULL)
		return false;
	at = memchr(rest->s, sep, rest->len);
	if (at == NULL) {
		*item = trim(*rest);
		rest->s = NULL;
		return true;
	}
	*item = trim((struct span){ rest->s, (size_t)(at - rest->s) });
	rest->len -= (size_t)(at - rest->s) + 1;
	rest->s = at + 1;
	return true;
}

static bool
version_ok(struct span spec)
{
	struct span name, value;

	return split_tag(spec, &name, &value) && span_is(name, "v") && value.len == 6 &&
	       memcmp(value.s, "DMARC1", 6) == 0;
}

static void
file_tag(struct tag_seen *seen, struct span spec, struct buf *err)
{
	struct span name, value;

	if (!split_tag(spec, &name, &value) || !name_chars_ok(name)) {
		note(err, spec, "malformed tag-spec ignored");
		return;
	}
	for (int t = 0; t < TAG_COUNT; t++) {
		if (span_is(name, tag_names[t])) {
			seen[t].value = value;
			seen[t].count++;
			return;
		}
	}
	/* unknown tags (rf=, ri= and future ones) are ignored, 4.7 */
}

/* Pass one: false when v=DMARC1 does not lead. */
static bool
collect_tags(struct span text, struct tag_seen *seen, struct buf *err)
{
	struct span rest = text, spec;

	if (!next_item(&rest, ';', &spec) || !version_ok(spec))
		return false;
	while (next_item(&rest, ';', &spec))
		if (spec.len > 0)
			file_tag(seen, spec, err);
	return true;
}

/* A tag's value into *v if given exactly once, with valid characters. */
static bool
single_value(const struct tag_seen *seen, enum tag t, struct span *v, struct buf *err)
{
	if (seen[t].count == 0)
		return false;
	struct span name = { tag_names[t], strlen(tag_names[t]) };

	if (seen[t].count > 1) {
		note(err, name, "given more than once: no valid value");
		return false;
	}
	if (!value_chars_ok(seen[t].value)) {
		note(err, name, "empty or non-printable value ignored");
		return false;
	}
	*v = seen[t].value;
	return true;
}

/* 0 absent, 1 valid, -1 present but invalid. */
static int
read_policy(const struct tag_seen *seen, enum tag t, enum dmarc_policy *out, struct buf *err)
{
	static const char *const words[] = { "none", "quarantine", "reject" };
	struct span v;

	if (seen[t].count == 0)
		return 0;
	if (single_value(seen, t, &v, err)) {
		for (int i = 0; i < 3; i++) {
			if (span_is(v, words[i])) {
				*out = (enum dmarc_policy)i;
				return 1;
			}
		}
		note_tag(err, t, v, "not a policy");
	}
	return -1;
}

/* A one-letter choice: the index of v in letters, or -1. */
static int
read_letter(const struct tag_seen *seen, enum tag t, const char *letters, struct buf *err)
{
	struct span v;

	if (!single_value(seen, t, &v, err))
		return -1;
	if (v.len == 1)
		for (int i = 0; letters[i] != '\0'; i++)
			if ((v.s[0] | 0x20) == letters[i])
				return i;
	note_tag(err, t, v, "invalid value, default used");
	return -1;
}

static void
read_pct(const struct tag_seen *seen, struct dmarc_record *rec, struct buf *err)
{
	struct span v;
	unsigned n = 0;

	rec->pct = 100;
	if (!single_value(seen, TAG_PCT, &v, err))
		return;
	for (size_t i = 0; i < v.len; i++) {
		if (!is_digit(v.s[i]) || i >= 3) {
			note_tag(err, TAG_PCT, v, "invalid value ignored");
			return;
		}
		n = n * 10 + (unsigned)(v.s[i] - '0');
	}
	if (n > 100) {
		note_tag(err, TAG_PCT, v, "invalid value ignored");
		return;
	}
	rec->pct = n;
	rec->pct_published = true;
}

/* One fo= option as its DMARC_FO_* bit, or 0. */
static unsigned
fo_bit(struct span item)
{
	static const char opts[] = "01ds";

	if (item.len == 1)
		for (unsigned i = 0; opts[i] != '\0'; i++)
			if ((item.s[0] | 0x20) == opts[i])
				return 1u << i;
	return 0;
}

/* fo=: colon-separated 0, 1, d, s; 0 and 1 exclusive, none twice. */
static void
read_fo(const struct tag_seen *seen, struct dmarc_record *rec, struct buf *err)
{
	struct span v, rest, item;
	unsigned fo = 0;
	bool bad = false;

	rec->fo = DMARC_FO_0;
	if (!single_value(seen, TAG_FO, &v, err))
		return;
	rest = v;
	while (!bad && next_item(&rest, ':', &item)) {
		unsigned bit = fo_bit(item);
		bad = bit == 0 || (fo & bit) != 0;
		fo |= bit;
	}
	if (bad || ((fo & DMARC_FO_0) != 0 && (fo & DMARC_FO_1) != 0)) {
		note_tag(err, TAG_FO, v, "invalid value, fo=0 used");
		return;
	}
	rec->fo = fo;
}

/* scheme ":" something, no white space (RFC 3986 in the large). */
static bool
uri_ok(struct span u)
{
	size_t i = 0;

	if (u.len == 0 || !is_alpha(u.s[0]))
		return false;
	while (i < u.len && (is_alpha(u.s[i]) || is_digit(u.s[i]) || u.s[i] == '+' ||
	                     u.s[i] == '-' || u.s[i] == '.'))
		i++;
	if (i + 1 >= u.len || u.s[i] != ':')
		return false;
	for (; i < u.len; i++)
		if (u.s[i] == ' ' || u.s[i] == '\t')
			return false;
	return true;
}

/* Drop an obsolete "!" size limit (4.8 obs-dmarc-report-size). */
static struct span
strip_size(struct span u)
{
	const char *bang = memchr(u.s, '!', u.len);

	if (bang != NULL)
		u.len = (size_t)(bang - u.s);
	return u;
}

static void
read_uris(const struct tag_seen *seen, enum tag t, struct dmarc_uris *out, struct buf *err)
{
	struct span v, u;

	if (!single_value(seen, t, &v, err))
		return;
	while (next_item(&v, ',', &u)) {
		u = trim(strip_size(u));
		if (!uri_ok(u)) {
			note_tag(err, t, u, "invalid URI ignored");
			continue;
		}
		out->uri = xgrow(out->uri, out->count, sizeof(*out->uri));
		out->uri[out->count++] = xstrndup(u.s, u.len);
	}
}

/* 4.10.1: a record without a valid policy acts as p=none if it has somewhere to report. */
static enum dmarc_parse
settle_policy(const struct tag_seen *seen, struct dmarc_record *rec, struct buf *err)
{
	int p = read_policy(seen, TAG_P, &rec->p, err);
	int sp = read_policy(seen, TAG_SP, &rec->sp, err);
	int np = read_policy(seen, TAG_NP, &rec->np, err);

	if (p == 1 && sp >= 0 && np >= 0) {
		rec->sp_published = sp == 1;
		rec->np_published = np == 1;
		if (!rec->sp_published)
			rec->sp = rec->p;
		if (!rec->np_published)
			rec->np = rec->sp;
		return DMARC_PARSE_OK;
	}
	rec->p = rec->sp = rec->np = DMARC_POLICY_NONE;
	if (rec->rua.count > 0) {
		rec->policy_fallback = true;
		if (err != NULL)
			buf_puts(err, "no valid policy: acting as p=none because rua= is valid\n");
		return DMARC_PARSE_OK;
	}
	if (err != NULL)
		buf_puts(err, "no valid policy and no valid rua=: no DMARC processing\n");
	return DMARC_PARSE_NO_POLICY;
}

static void
read_options(const struct tag_seen *seen, struct dmarc_record *rec, struct buf *err)
{
	int v;

	rec->adkim =
	    read_letter(seen, TAG_ADKIM, "rs", err) == 1 ? DMARC_ALIGN_STRICT : DMARC_ALIGN_RELAXED;
	rec->aspf =
	    read_letter(seen, TAG_ASPF, "rs", err) == 1 ? DMARC_ALIGN_STRICT : DMARC_ALIGN_RELAXED;
	v = read_letter(seen, TAG_T, "ny", err);
	rec->t_published = v >= 0;
	rec->testing = v == 1;
	v = read_letter(seen, TAG_PSD, "uyn", err);
	rec->psd = v < 0 ? DMARC_PSD_UNSPEC : (enum dmarc_psd)v;
	read_pct(seen, rec, err);
	read_fo(seen, rec, err);
	read_uris(seen, TAG_RUA, &rec->rua, err);
	read_uris(seen, TAG_RUF, &rec->ruf, err);
}

enum dmarc_parse
dmarc_record_parse(const char *text, size_t len, struct dmarc_record *rec, struct buf *err)
{
	struct tag_seen seen[TAG_COUNT];

	memset(rec, 0, sizeof(*rec));
	memset(seen, 0, sizeof(seen));
	if (!collect_tags((struct span){ text, len }, seen, err)) {
		if (err != NULL)
			buf_puts(err, "not a DMARC record: v=DMARC1 is not the first tag\n");
		return DMARC_PARSE_NOT_DMARC;
	}
	read_options(seen, rec, err);
	rec->raw = xmalloc(len + 1);
	memcpy(rec->raw, text, len);
	rec->raw[len] = '\0';
	rec->raw_len = len;
	return settle_policy(seen, rec, err);
}

static void
uris_copy(struct dmarc_uris *dst, const struct dmarc_uris *src)
{
	dst->count = src->count;
	dst->uri = src->count > 0 ? xcalloc(src->count, sizeof(*dst->uri)) : NULL;
	for (size_t i = 0; i < src->count; i++)
		dst->uri[i] = xstrdup(src->uri[i]);
}

void
dmarc_record_copy(struct dmarc_record *dst, const struct dmarc_record *src)
{
	*dst = *src;
	uris_copy(&dst->rua, &src->rua);
	uris_copy(&dst->ruf, &src->ruf);
	if (src->raw != NULL) {
		dst->raw = xmalloc(src->raw_len + 1);
		memcpy(dst->raw, src->raw, src->raw_len + 1);
	}
}

static void
uris_free(struct dmarc_uris *u)
{
	for (size_t i = 0; i < u->count; i++)
		free(u->uri[i]);
	free(u->uri);
}

void
dmarc_record_free(struct dmarc_record *rec)
{
	uris_free(&rec->rua);
	uris_free(&rec->ruf);
	free(rec->raw);
	memset(rec, 0, sizeof(*rec));
}
