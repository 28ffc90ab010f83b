/*
 * suppression_format - CSV and JSON Lines rows; see suppression_format.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/suppression_format.h"
#include "common/timefmt.h"
#include "common/utf8.h"

/* Longest line a valid row can take, with room for quoting. */
#define LINE_MAX_BYTES 2048

static const struct {
	const char *name;
	enum suppression_column column;
} column_names[] = {
	{ "address", SUPPRESSION_COL_ADDRESS },      { "emailaddress", SUPPRESSION_COL_ADDRESS },
	{ "scope", SUPPRESSION_COL_SCOPE },          { "stream", SUPPRESSION_COL_SCOPE },
	{ "reason", SUPPRESSION_COL_REASON },        { "time", SUPPRESSION_COL_TIME },
	{ "lastupdatetime", SUPPRESSION_COL_TIME },  { "message_id", SUPPRESSION_COL_MESSAGE_ID },
	{ "messageid", SUPPRESSION_COL_MESSAGE_ID },
};

int
suppression_format_parse(const char *word, enum suppression_format *out)
{
	if (strcasecmp(word, "csv") == 0)
		*out = SUPPRESSION_FORMAT_CSV;
	else if (strcasecmp(word, "jsonl") == 0 || strcasecmp(word, "ndjson") == 0)
		*out = SUPPRESSION_FORMAT_JSONL;
	else
		return -1;
	return 0;
}

enum suppression_format
suppression_format_of_path(const char *path)
{
	const char *dot = path ? strrchr(path, '.') : NULL;

	if (dot != NULL && strchr(dot, '/') == NULL &&
	    (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0 ||
	     strcasecmp(dot, ".json") == 0))
		return SUPPRESSION_FORMAT_JSONL;
	return SUPPRESSION_FORMAT_CSV;
}

void
suppression_columns_default(struct suppression_columns *cols)
{
	for (size_t i = 0; i < SUPPRESSION_COL_COUNT; i++)
		cols->field[i] = (enum suppression_column)i;
	cols->count = SUPPRESSION_COL_COUNT;
}

int
suppression_line_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return 0;
	return 1;
}

/* ------------------------------------------------------------ CSV fields */

struct fields {
	char text[LINE_MAX_BYTES];
	const char *value[SUPPRESSION_COL_COUNT + 1];
	size_t count;
};

static bool
blank(char c)
{
	return c == ' ' || c == '\t';
}

/* One quoted field from *pos; its end in *pos; -1 when unterminated. */
static int
quoted(const char *line, size_t len, size_t *pos, char **out)
{
	size_t i = *pos + 1;

	for (;;) {
		if (i >= len)
			return -1;
		if (line[i] == '"') {
			if (i + 1 < len && line[i + 1] == '"') {
				*(*out)++ = '"';
				i += 2;
				continue;
			}
			break;
		}
		*(*out)++ = line[i++];
	}
	for (i++; i < len && blank(line[i]); i++)
		;
	*pos = i;
	return 0;
}

/* Split a line into fields (unquoted, blanks dropped); -1 with why. */
static int
split(const char *line, size_t len, struct fields *f, struct buf *why)
{
	size_t pos = 0;
	char *out = f->text;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len >= sizeof(f->text)) {
		buf_printf(why, "line longer than %d bytes", LINE_MAX_BYTES - 1);
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		buf_printf(why, "NUL byte in the line");
		return -1;
	}
	f->count = 0;
	for (;;) {
		char *start = out;

		while (pos < len && blank(line[pos]))
			pos++;
		if (f->count == sizeof(f->value) / sizeof(f->value[0])) {
			buf_printf(why, "more than %d fields", SUPPRESSION_COL_COUNT);
			return -1;
		}
		if (pos < len && line[pos] == '"') {
			if (quoted(line, len, &pos, &out) < 0) {
				buf_printf(why, "unterminated quoted field");
				return -1;
			}
		} else {
			while (pos < len && line[pos] != ',') {
				if (line[pos] == '"') {
					buf_printf(why, "quote inside an unquoted field");
					return -1;
				}
				*out++ = line[pos++];
			}
			while (out > start && blank(out[-1]))
				out--;
		}
		*out++ = '\0';
		f->value[f->count++] = start;
		if (pos >= len)
			return 0;
		if (line[pos] != ',') {
			buf_printf(why, "text after a quoted field");
			return -1;
		}
		pos++;
	}
}

static int
column_of(const char *name, enum suppression_column *out)
{
	for (size_t i = 0; i < sizeof(column_names) / sizeof(column_names[0]); i++)
		if (strcasecmp(name, column_names[i].name) == 0) {
			*out = column_names[i].column;
			return 0;
		}
	return -1;
}

int
suppression_csv_header(const char *line, size_t len, struct suppression_columns *cols,
                       struct buf *why)
{
	struct fields f;
	struct buf ignored = BUF_INIT;
	bool seen[SUPPRESSION_COL_COUNT] = { false };
	enum suppression_column col;

	suppression_columns_default(cols);
	/* A header's first field names a column; anything else is a row (maybe a bad one). */
	if (split(line, len, &f, &ignored) < 0 || column_of(f.value[0], &col) < 0) {
		buf_free(&ignored);
		return 0;
	}
	for (size_t i = 0; i < f.count; i++) {
		if (column_of(f.value[i], &col) < 0) {
			buf_printf(why, "header: unknown column \"%s\"", f.value[i]);
			return -1;
		}
		if (seen[col]) {
			buf_printf(why, "header: column \"%s\" twice", f.value[i]);
			return -1;
		}
		seen[col] = true;
		cols->field[i] = col;
	}
	cols->count = f.count;
	if (!seen[SUPPRESSION_COL_ADDRESS]) {
		buf_printf(why, "header: no address column");
		return -1;
	}
	return 1;
}

/* -------------------------------------------------------------- checks */

static bool
domain_ok(const char *d, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 255)
		return false;
	if (d[0] == '[')
		return len > 2 && d[len - 1] == ']';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_' && c < 0x80)
			return false;
		label++;
	}
	return label > 0;
}

/* A quoted local part ("john doe"): printable ASCII, \ escapes; NULL or why not. */
static const char *
quoted_local_bad(const char *p, size_t len)
{
	if (len < 2 || p[len - 1] != '"')
		return "address with an unterminated quoted local part";
	for (size_t i = 1; i < len - 1; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\\' && i + 1 < len - 1)
			c = (unsigned char)p[++i];
		else if (c == '\\' || c == '"')
			return "address with a stray \\ or \" in its quoted local part";
		if (c < 0x20 || c == 0x7f)
			return "address with a control character";
	}
	return NULL;
}

/* NULL, or why the local part (len bytes at p) is not one. */
static const char *
local_bad(const char *p, size_t len)
{
	if (len == 0 || len > 64)
		return "address with an empty or overlong local part";
	if (p[0] == '"')
		return quoted_local_bad(p, len);
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '@')
			return "address with two @";
		if ((unsigned char)p[i] <= ' ' || p[i] == 0x7f || strchr("<>,;\\\"()[]:", p[i]))
			return "address with a blank, control character or one of "
			       "<>,;\\\"()[]: (unquoted)";
	}
	return NULL;
}

int
suppression_address_check(const char *address, const char **why)
{
	size_t len = strlen(address);
	const char *at = strrchr(address, '@');

	*why = NULL;
	if (len == 0)
		*why = "empty address";
	else if (len > SUPPRESSION_ADDRESS_MAX)
		*why = "address longer than 320 bytes";
	else if (!utf8_valid(address, len))
		*why = "address that is not UTF-8";
	else if (at == NULL)
		*why = "address without @";
	else if ((*why = local_bad(address, (size_t)(at - address))) == NULL &&
	         !domain_ok(at + 1, strlen(at + 1)))
		*why = "address with a bad domain";
	return *why == NULL ? 0 : -1;
}

/* Digits at p (exactly n of them) into *out. */
static bool
digits(const char *p, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		*out = *out * 10 + (p[i] - '0');
	}
	return true;
}

/* "Z", "+HH:MM", "+HHMM" or "-..." into seconds east of UTC; -1 if none. */
static int
zone(const char *p, long *offset)
{
	int h, m;

	if (strcmp(p, "Z") == 0 || strcmp(p, "z") == 0) {
		*offset = 0;
		return 0;
	}
	if ((*p != '+' && *p != '-') || !digits(p + 1, 2, &h))
		return -1;
	if (p[3] == ':' ? !digits(p + 4, 2, &m) || p[6] != '\0'
	                : !digits(p + 3, 2, &m) || p[5] != '\0')
		return -1;
	if (h > 23 || m > 59)
		return -1;
	*offset = (*p == '-' ? -1 : 1) * (h * 3600L + m * 60L);
	return 0;
}

int
suppression_time_parse(const char *text, time_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, s = 0;
	const char *p = text;
	long offset = 0;
	long long v;
	char *end;

	if (*text != '\0' && strspn(text, "0123456789") == strlen(text)) {
		errno = 0;
		v = strtoll(text, &end, 10);
		if (errno != 0 || v > (long long)253402300799) /* 9999-12-31 */
			return -1;
		*out = (time_t)v;
		return 0;
	}
	if (!digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) || p[7] != '-' ||
	    !digits(p + 8, 2, &d))
		return -1;
	p += 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		if (!digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi))
			return -1;
		p += 6;
		if (*p == ':') {
			if (!digits(p + 1, 2, &s))
				return -1;
			p += 3;
			if (*p == '.' || *p == ',')
				for (p++; isdigit((unsigned char)*p); p++)
					;
		}
		if (zone(p, &offset) < 0)
			return -1;
	} else if (*p != '\0') {
		return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	*out = timegm(&tm) - offset;
	/* timegm normalises 31 February into March: refuse it. */
	return tm.tm_mday == d ? 0 : -1;
}

/* --------------------------------------------------------------- rows */

/* UTF-8 without control characters: what a stream name or message ID may hold. */
static bool
text_ok(const char *v)
{
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return utf8_valid(v, strlen(v));
}

/* One column's text into the entry; -1 with why. */
static int
set_column(struct suppression_entry *e, enum suppression_column col, const char *v, struct buf *why)
{
	const char *reason;

	switch (col) {
	case SUPPRESSION_COL_ADDRESS:
		if (suppression_address_check(v, &reason) < 0) {
			buf_printf(why, "%s: \"%s\"", reason, v);
			return -1;
		}
		for (size_t i = 0; v[i]; i++)
			e->address[i] = (char)tolower((unsigned char)v[i]);
		e->address[strlen(v)] = '\0';
		return 0;
	case SUPPRESSION_COL_SCOPE:
		if (strlen(v) > SUPPRESSION_SCOPE_MAX) {
			buf_printf(why, "stream name longer than %d bytes", SUPPRESSION_SCOPE_MAX);
			return -1;
		}
		if (!text_ok(v)) {
			buf_printf(why, "stream name with a control character or not UTF-8");
			return -1;
		}
		snprintf(e->scope, sizeof(e->scope), "%s", v);
		return 0;
	case SUPPRESSION_COL_REASON:
		if (*v != '\0' && suppression_reason_parse(v, &e->reason) < 0) {
			buf_printf(
			    why, "unknown reason \"%s\" (BOUNCE, COMPLAINT, UNSUBSCRIBE or MANUAL)",
			    v);
			return -1;
		}
		return 0;
	case SUPPRESSION_COL_TIME:
		if (*v != '\0' && suppression_time_parse(v, &e->time) < 0) {
			buf_printf(why, "bad time \"%s\" (ISO 8601, e.g. 2026-11-23T19:28:23Z)", v);
			return -1;
		}
		return 0;
	case SUPPRESSION_COL_MESSAGE_ID:
		if (strlen(v) >= sizeof(e->message_id)) {
			buf_printf(why, "message ID longer than %zu bytes",
			           sizeof(e->message_id) - 1);
			return -1;
		}
		if (!text_ok(v)) {
			buf_printf(why, "message ID with a control character or not UTF-8");
			return -1;
		}
		snprintf(e->message_id, sizeof(e->message_id), "%s", v);
		return 0;
	default:
		return 0;
	}
}

static void
entry_defaults(struct suppression_entry *e, time_t now)
{
	memset(e, 0, sizeof(*e));
	e->reason = SUPPRESSION_MANUAL;
	e->time = now;
}

int
suppression_csv_row(const struct suppression_columns *cols, const char *line, size_t len,
                    time_t now, struct suppression_entry *out, struct buf *why)
{
	struct fields f;
	bool have_address = false;

	entry_defaults(out, now);
	if (split(line, len, &f, why) < 0)
		return -1;
	if (f.count > cols->count) {
		buf_printf(why, "%zu fields where the columns are %zu", f.count, cols->count);
		return -1;
	}
	for (size_t i = 0; i < f.count; i++) {
		if (set_column(out, cols->field[i], f.value[i], why) < 0)
			return -1;
		have_address |= cols->field[i] == SUPPRESSION_COL_ADDRESS;
	}
	if (!have_address) {
		buf_printf(why, "no address");
		return -1;
	}
	return 0;
}

static const struct {
	const char *key;
	enum suppression_column column;
} json_keys[] = {
	{ "emailAddress", SUPPRESSION_COL_ADDRESS }, { "stream", SUPPRESSION_COL_SCOPE },
	{ "reason", SUPPRESSION_COL_REASON },        { "lastUpdateTime", SUPPRESSION_COL_TIME },
	{ "messageId", SUPPRESSION_COL_MESSAGE_ID },
};

/* One member of the object; -1 with why. */
static int
json_member(struct suppression_entry *e, const char *key, json_t *value, struct buf *why)
{
	char number[32];
	size_t i;

	for (i = 0; i < sizeof(json_keys) / sizeof(json_keys[0]); i++)
		if (strcmp(key, json_keys[i].key) == 0)
			break;
	if (i == sizeof(json_keys) / sizeof(json_keys[0])) {
		buf_printf(why, "unknown key \"%s\"", key);
		return -1;
	}
	if (json_keys[i].column == SUPPRESSION_COL_TIME && json_is_integer(value)) {
		snprintf(number, sizeof(number), "%lld", (long long)json_integer_value(value));
		return set_column(e, SUPPRESSION_COL_TIME, number, why);
	}
	if (!json_is_string(value)) {
		buf_printf(why, "\"%s\" is not a string", key);
		return -1;
	}
	if (strlen(json_string_value(value)) != json_string_length(value)) {
		buf_printf(why, "\"%s\" holds a NUL", key);
		return -1;
	}
	return set_column(e, json_keys[i].column, json_string_value(value), why);
}

int
suppression_jsonl_row(const char *line, size_t len, time_t now, struct suppression_entry *out,
                      struct buf *why)
{
	json_error_t jerr;
	json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *key;
	json_t *value;
	int rc = 0;

	entry_defaults(out, now);
	if (obj == NULL) {
		buf_printf(why, "not JSON: %s", jerr.text);
		return -1;
	}
	if (!json_is_object(obj)) {
		buf_printf(why, "not a JSON object");
		rc = -1;
	} else if (json_object_get(obj, "emailAddress") == NULL) {
		buf_printf(why, "no \"emailAddress\"");
		rc = -1;
	}
	if (rc == 0)
		json_object_foreach(obj, key, value)
		{
			if ((rc = json_member(out, key, value, why)) < 0)
				break;
		}
	json_decref(obj);
	return rc;
}

/* ------------------------------------------------------------- writers */

void
suppression_csv_header_write(struct buf *out)
{
	buf_puts(out, "address,scope,reason,time,message_id\n");
}

static void
csv_field(struct buf *out, const char *v)
{
	size_t len = strlen(v);

	if (strpbrk(v, ",\"\r\n") == NULL && (len == 0 || (!blank(v[0]) && !blank(v[len - 1])))) {
		buf_append(out, v, len);
		return;
	}
	buf_puts(out, "\"");
	for (const char *p = v; *p; p++) {
		if (*p == '"')
			buf_puts(out, "\"\"");
		else
			buf_append(out, p, 1);
	}
	buf_puts(out, "\"");
}

static void
iso_time(time_t t, char when[TIMEFMT_ISO8601_LEN])
{
	struct timespec ts = { .tv_sec = t };

	timefmt_iso8601(&ts, when, TIMEFMT_ISO8601_LEN);
}

void
suppression_csv_write(struct buf *out, const struct suppression_entry *e)
{
	char when[TIMEFMT_ISO8601_LEN];

	iso_time(e->time, when);
	csv_field(out, e->address);
	buf_puts(out, ",");
	csv_field(out, e->scope);
	buf_printf(out, ",%s,%s,", suppression_reason_name(e->reason), when);
	csv_field(out, e->message_id);
	buf_puts(out, "\n");
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
static void
json_quote(struct buf *out, const char *v)
{
	char *clean = utf8_valid(v, strlen(v)) ? NULL : utf8_sanitize(v, strlen(v));

	buf_puts(out, "\"");
	for (const unsigned char *p = (const unsigned char *)(clean ? clean : v); *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(out, "\\%c", *p);
		else if (*p < 0x20)
			buf_printf(out, "\\u%04x", *p);
		else
			buf_append(out, p, 1);
	}
	buf_puts(out, "\"");
	free(clean);
}

void
suppression_jsonl_write(struct buf *out, const struct suppression_entry *e)
{
	char when[TIMEFMT_ISO8601_LEN];

	iso_time(e->time, when);
	buf_puts(out, "{\"emailAddress\":");
	json_quote(out, e->address);
	buf_printf(out, ",\"reason\":\"%s\",\"lastUpdateTime\":\"%s\",\"stream\":",
	           suppression_reason_name(e->reason), when);
	json_quote(out, e->scope);
	buf_puts(out, ",\"messageId\":");
	json_quote(out, e->message_id);
	buf_puts(out, "}\n");
}
