/*
 * load - read a libconfig policy file through the settings table
 *
 * Walks the file, not the table: every setting in the file must match a
 * row, so a misspelt name is an error instead of a silently ignored line.
 * Every problem is reported (not just the first) as
 * "FILE:LINE: NAME: what is wrong", and any problem means no policy.
 *
 * settings_apply_defaults() and settings_free() are the other two walks of
 * the table, used for a fresh snapshot and for freeing one.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "policy/load.h"
#include "policy/policy.h"
#include "policy/settings.h"

/* An integer literal libconfig 1.5 cannot hold in 32 bits (see wide_literals). */
struct wide_literal {
	unsigned line;
	char text[32];
};

struct load_ctx {
	const char *path;
	struct buf *errors;
	int count;
	struct wide_literal *wide;
	size_t wide_count;
};

#define FIELD(base, off, type) ((type *)((char *)(base) + (off)))

static void load_error(struct load_ctx *ctx, const config_setting_t *where, const char *name,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
load_error(struct load_ctx *ctx, const config_setting_t *where, const char *name, const char *fmt,
           ...)
{
	const char *file = config_setting_source_file(where);
	va_list ap;

	buf_printf(ctx->errors, "%s:%u: %s: ", file ? file : ctx->path,
	           config_setting_source_line(where), name);
	va_start(ap, fmt);
	buf_vprintf(ctx->errors, fmt, ap);
	va_end(ap);
	buf_puts(ctx->errors, "\n");
	ctx->count++;
}

static const struct setting *
find_row(const struct setting *table, const char *name)
{
	for (const struct setting *row = table; row->name != NULL; row++)
		if (strcmp(row->name, name) == 0)
			return row;
	return NULL;
}

static int
choice_index(const char *const *choices, const char *value)
{
	for (int i = 0; choices[i] != NULL; i++)
		if (strcmp(choices[i], value) == 0)
			return i;
	return -1;
}

static void
strlist_set(struct strlist *list, const char *const *items)
{
	size_t n = 0;

	while (items != NULL && items[n] != NULL)
		n++;
	list->items = xcalloc(n + 1, sizeof(char *));
	list->count = n;
	for (size_t i = 0; i < n; i++)
		list->items[i] = xstrdup(items[i]);
}

static void
strlist_free(struct strlist *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

void
settings_apply_defaults(const struct setting *table, void *base)
{
	for (const struct setting *row = table; row->name != NULL; row++) {
		switch (row->type) {
		case SETTING_BOOL:
			*FIELD(base, row->offset, bool) = row->def_bool;
			break;
		case SETTING_INT:
			*FIELD(base, row->offset, long) = row->def_int;
			break;
		case SETTING_STRING:
			*FIELD(base, row->offset, char *) =
			    xstrdup(row->def_string ? row->def_string : "");
			break;
		case SETTING_CHOICE:
			*FIELD(base, row->offset, int) =
			    choice_index(row->choices, row->def_string);
			break;
		case SETTING_STRING_LIST:
			strlist_set(FIELD(base, row->offset, struct strlist), row->def_list);
			break;
		case SETTING_GROUP:
			settings_apply_defaults(row->children, base);
			break;
		case SETTING_GROUP_LIST:
			*FIELD(base, row->offset, void *) = NULL;
			*FIELD(base, row->count_offset, size_t) = 0;
			break;
		}
	}
}

void
settings_free(const struct setting *table, void *base)
{
	for (const struct setting *row = table; row->name != NULL; row++) {
		switch (row->type) {
		case SETTING_STRING:
			free(*FIELD(base, row->offset, char *));
			*FIELD(base, row->offset, char *) = NULL;
			break;
		case SETTING_STRING_LIST:
			strlist_free(FIELD(base, row->offset, struct strlist));
			break;
		case SETTING_GROUP:
			settings_free(row->children, base);
			break;
		case SETTING_GROUP_LIST: {
			char *elems = *FIELD(base, row->offset, char *);
			size_t count = *FIELD(base, row->count_offset, size_t);
			for (size_t i = 0; i < count; i++) {
				if (row->release != NULL)
					row->release(elems + i * row->elem_size);
				settings_free(row->children, elems + i * row->elem_size);
			}
			free(elems);
			*FIELD(base, row->offset, void *) = NULL;
			*FIELD(base, row->count_offset, size_t) = 0;
			break;
		}
		default:
			break;
		}
	}
}

static bool
check_string(struct load_ctx *ctx, const config_setting_t *where, const char *name,
             const struct setting *row, const char *value)
{
	char why[512];

	if (row->check == NULL || row->check(value, why, sizeof(why)))
		return true;
	load_error(ctx, where, name, "%s", why);
	return false;
}

static const char *
type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a floating-point number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	default:
		return "something else";
	}
}

static void load_group(struct load_ctx *ctx, const config_setting_t *group,
                       const struct setting *table, void *base, const char *prefix);

/*
 * libconfig 1.5 (Debian 12) silently wraps decimal literals beyond 32 bits
 * unless they carry the L suffix: "timeout = 4294967301;" would load as 5.
 * Scan the file for such literals first, so the loader can report them as
 * the out-of-range values they are.  Strings and comments are skipped.
 */
static void
wide_literals(struct load_ctx *ctx, FILE *f)
{
	unsigned line = 1;
	int c, prev = ' ';
	bool string = false, line_comment = false, block_comment = false;

	while ((c = getc(f)) != EOF) {
		if (c == '\n') {
			line++;
			line_comment = false;
		} else if (line_comment) {
		} else if (block_comment) {
			if (prev == '*' && c == '/')
				block_comment = false;
		} else if (string) {
			if (c == '\\')
				c = getc(f) == '\n' ? (line++, ' ') : ' ';
			else if (c == '"')
				string = false;
		} else if (c == '"') {
			string = true;
		} else if (c == '#' || (prev == '/' && c == '/')) {
			line_comment = true;
		} else if (prev == '/' && c == '*') {
			block_comment = true;
			c = ' ';
		} else if (isdigit(c) && !isalnum(prev) && prev != '_' && prev != '.') {
			char text[32];
			size_t n = 0;
			do {
				if (n < sizeof(text) - 1)
					text[n++] = (char)c;
			} while ((c = getc(f)) != EOF && isalnum(c));
			text[n] = '\0';
			bool hex = n > 2 && (text[1] == 'x' || text[1] == 'X');
			bool suffixed = text[n - 1] == 'L';
			if (!suffixed && c != '.' &&
			    (hex ? strtoull(text, NULL, 16) > 0x7fffffffULL
			         : strtoull(text, NULL, 10) > 0x7fffffffULL)) {
				ctx->wide = xreallocarray(ctx->wide, ctx->wide_count + 1,
				                          sizeof(*ctx->wide));
				ctx->wide[ctx->wide_count].line = line;
				snprintf(ctx->wide[ctx->wide_count].text, sizeof(ctx->wide[0].text),
				         "%s", text);
				ctx->wide_count++;
			}
			if (c == EOF)
				break;
			ungetc(c, f);
			c = text[n - 1];
		}
		prev = c;
	}
}

/* The literal text of a wrapped 32-bit integer setting, or NULL. */
static const char *
wide_literal_at(const struct load_ctx *ctx, const config_setting_t *s, int type)
{
	if (type != CONFIG_TYPE_INT)
		return NULL;
	for (size_t i = 0; i < ctx->wide_count; i++)
		if (ctx->wide[i].line == config_setting_source_line(s))
			return ctx->wide[i].text;
	return NULL;
}

static void
load_choice(struct load_ctx *ctx, const config_setting_t *s, const char *name,
            const struct setting *row, void *base)
{
	const char *value = config_setting_get_string(s);
	int index = choice_index(row->choices, value);
	struct buf allowed = BUF_INIT;

	if (index >= 0) {
		*FIELD(base, row->offset, int) = index;
		return;
	}
	for (int i = 0; row->choices[i] != NULL; i++)
		buf_printf(&allowed, "%s%s", i ? ", " : "", row->choices[i]);
	load_error(ctx, s, name, "\"%s\" is not one of: %s", value, buf_str(&allowed));
	buf_free(&allowed);
}

static void
load_string_list(struct load_ctx *ctx, const config_setting_t *s, const char *name,
                 const struct setting *row, void *base)
{
	struct strlist *list = FIELD(base, row->offset, struct strlist);
	int n = config_setting_length(s);

	strlist_free(list);
	list->items = xcalloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n; i++) {
		const config_setting_t *item = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(item) != CONFIG_TYPE_STRING) {
			load_error(ctx, item, name, "item %d must be a string, not %s", i + 1,
			           type_name(config_setting_type(item)));
			continue;
		}
		const char *value = config_setting_get_string(item);
		if (check_string(ctx, item, name, row, value))
			list->items[list->count++] = xstrdup(value);
	}
}

static void
load_group_list(struct load_ctx *ctx, const config_setting_t *s, const char *name,
                const struct setting *row, void *base)
{
	int n = config_setting_length(s);
	char *elems = xcalloc((size_t)n + 1, row->elem_size);
	struct buf elem_name = BUF_INIT;

	*FIELD(base, row->offset, void *) = elems;
	for (int i = 0; i < n; i++) {
		const config_setting_t *item = config_setting_get_elem(s, (unsigned)i);
		void *elem = elems + (size_t)i * row->elem_size;

		settings_apply_defaults(row->children, elem);
		*FIELD(base, row->count_offset, size_t) = (size_t)i + 1;
		buf_reset(&elem_name);
		buf_printf(&elem_name, "%s[%d]", name, i + 1);
		if (config_setting_type(item) != CONFIG_TYPE_GROUP) {
			load_error(ctx, item, elem_name.data, "expected a group { ... }, not %s",
			           type_name(config_setting_type(item)));
			continue;
		}
		int problems = ctx->count;
		/* The element's own line first, so problems come out in file order. */
		for (const struct setting *child = row->children; child->name; child++)
			if (child->required && config_setting_get_member(item, child->name) == NULL)
				load_error(ctx, item, elem_name.data, "\"%s\" is required",
				           child->name);
		load_group(ctx, item, row->children, elem, elem_name.data);
		if (row->finish != NULL && ctx->count == problems) {
			struct buf why = BUF_INIT;
			if (row->finish(elem, &why) < 0)
				load_error(ctx, item, elem_name.data, "%s", buf_str(&why));
			buf_free(&why);
		}
	}
	buf_free(&elem_name);
}

/* The libconfig type each setting type must have. */
static bool
type_matches(const struct setting *row, int type)
{
	switch (row->type) {
	case SETTING_BOOL:
		return type == CONFIG_TYPE_BOOL;
	case SETTING_INT:
		return type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
	case SETTING_STRING:
	case SETTING_CHOICE:
		return type == CONFIG_TYPE_STRING;
	case SETTING_STRING_LIST:
		return type == CONFIG_TYPE_ARRAY || type == CONFIG_TYPE_LIST;
	case SETTING_GROUP:
		return type == CONFIG_TYPE_GROUP;
	case SETTING_GROUP_LIST:
		return type == CONFIG_TYPE_LIST;
	}
	return false;
}

static const char *
expected_name(const struct setting *row)
{
	static const char *const names[] = {
		[SETTING_BOOL] = "true or false",
		[SETTING_INT] = "an integer",
		[SETTING_STRING] = "a string",
		[SETTING_CHOICE] = "a string",
		[SETTING_STRING_LIST] = "an array of strings [ \"...\", ... ]",
		[SETTING_GROUP] = "a group { ... }",
		[SETTING_GROUP_LIST] = "a list of groups ( { ... }, ... )",
	};
	return names[row->type];
}

static void
load_setting(struct load_ctx *ctx, const config_setting_t *s, const char *name,
             const struct setting *row, void *base)
{
	int type = config_setting_type(s);

	if (!type_matches(row, type)) {
		load_error(ctx, s, name, "expected %s, not %s", expected_name(row),
		           type_name(type));
		return;
	}
	switch (row->type) {
	case SETTING_BOOL:
		*FIELD(base, row->offset, bool) = config_setting_get_bool(s) != 0;
		break;
	case SETTING_INT: {
		const char *wide = wide_literal_at(ctx, s, type);
		if (wide != NULL) {
			load_error(ctx, s, name, "%s is out of range (%ld to %ld)", wide, row->min,
			           row->max);
			break;
		}
		long long v = config_setting_get_int64(s);
		if (v < row->min || v > row->max) {
			load_error(ctx, s, name, "%lld is out of range (%ld to %ld)", v, row->min,
			           row->max);
			break;
		}
		*FIELD(base, row->offset, long) = (long)v;
		break;
	}
	case SETTING_STRING: {
		const char *value = config_setting_get_string(s);
		if (check_string(ctx, s, name, row, value)) {
			free(*FIELD(base, row->offset, char *));
			*FIELD(base, row->offset, char *) = xstrdup(value);
		}
		break;
	}
	case SETTING_CHOICE:
		load_choice(ctx, s, name, row, base);
		break;
	case SETTING_STRING_LIST:
		load_string_list(ctx, s, name, row, base);
		break;
	case SETTING_GROUP:
		load_group(ctx, s, row->children, base, name);
		break;
	case SETTING_GROUP_LIST:
		load_group_list(ctx, s, name, row, base);
		break;
	}
}

static void
load_group(struct load_ctx *ctx, const config_setting_t *group, const struct setting *table,
           void *base, const char *prefix)
{
	int n = config_setting_length(group);
	struct buf name = BUF_INIT;

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *key = config_setting_name(s);
		const struct setting *row = find_row(table, key);

		buf_reset(&name);
		buf_printf(&name, "%s%s%s", prefix, *prefix ? "." : "", key);
		if (row == NULL)
			load_error(ctx, s, name.data, "unknown setting");
		else
			load_setting(ctx, s, name.data, row, base);
	}
	buf_free(&name);
}

int
settings_load_file(const char *path, const struct setting *table, void *base, struct buf *errors)
{
	struct load_ctx ctx = { .path = path, .errors = errors };
	config_t cfg;

	FILE *probe = fopen(path, "r");
	if (probe == NULL) {
		buf_printf(errors, "%s: cannot read: %s\n", path, strerror(errno));
		return -1;
	}
	wide_literals(&ctx, probe);
	fclose(probe);
	config_init(&cfg);
	if (!config_read_file(&cfg, path)) {
		const char *file = config_error_file(&cfg);
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			buf_printf(errors, "%s: cannot read: %s\n", path, config_error_text(&cfg));
		else
			buf_printf(errors, "%s:%d: syntax error: %s\n", file ? file : path,
			           config_error_line(&cfg), config_error_text(&cfg));
		config_destroy(&cfg);
		free(ctx.wide);
		return -1;
	}
	load_group(&ctx, config_root_setting(&cfg), table, base, "");
	config_destroy(&cfg);
	free(ctx.wide);
	return ctx.count == 0 ? 0 : -1;
}
