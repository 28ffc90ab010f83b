/*
 * header - header fields and address lists; see header.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/header.h"
#include "common/xalloc.h"

static void
addrlist_push(struct addrlist *out, const char *start, const char *end)
{
	while (start < end && isspace((unsigned char)*start))
		start++;
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	if (end == start)
		return;
	out->items = xgrow(out->items, out->count, sizeof(char *));
	/* Unfold (RFC 5322 2.2.3): drop CR and LF; the white space after them stays. */
	char *item = xmalloc((size_t)(end - start) + 1), *q = item;
	for (const char *p = start; p < end; p++)
		if (*p != '\r' && *p != '\n')
			*q++ = *p == '\t' ? ' ' : *p;
	*q = '\0';
	out->items[out->count++] = item;
}

void
addrlist_split(const char *value, struct addrlist *out)
{
	const char *start = value;
	bool quoted = false, angle = false;
	int comment = 0;

	out->items = NULL;
	out->count = 0;
	for (const char *p = value; *p; p++) {
		if (*p == '\\' && p[1] != '\0' && (quoted || comment)) {
			p++;
		} else if (quoted) {
			quoted = *p != '"';
		} else if (*p == '"' && comment == 0) {
			quoted = true;
		} else if (*p == '(') {
			comment++;
		} else if (*p == ')' && comment > 0) {
			comment--;
		} else if (comment == 0 && *p == '<') {
			angle = true;
		} else if (comment == 0 && *p == '>') {
			angle = false;
		} else if (comment == 0 && !angle && *p == ',') {
			addrlist_push(out, start, p);
			start = p + 1;
		}
	}
	addrlist_push(out, start, start + strlen(start));
}

void
addrlist_free(struct addrlist *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

/*
 * The addr-spec of one address: inside the angle brackets when there are
 * some (outside quotes and comments), else the text without comments and
 * without a group's "name:" prefix and ";" suffix.
 */
static char *
addr_spec(const char *address)
{
	struct buf plain = BUF_INIT;
	const char *angle = NULL;
	bool quoted = false;
	int comment = 0;

	buf_append(&plain, "", 0);
	for (const char *p = address; *p; p++) {
		if (*p == '\\' && p[1] != '\0' && (quoted || comment)) {
			if (!comment)
				buf_append(&plain, p, 2);
			p++;
		} else if (comment > 0) {
			comment += *p == '(' ? 1 : *p == ')' ? -1 : 0;
		} else if (quoted) {
			quoted = *p != '"';
			buf_append(&plain, p, 1);
		} else if (*p == '"') {
			quoted = true;
			buf_append(&plain, p, 1);
		} else if (*p == '(') {
			comment = 1;
		} else if (*p == '<' && angle == NULL) {
			angle = p + 1;
			buf_reset(&plain);
		} else if (*p == '>' && angle != NULL) {
			break;
		} else if (*p == ':' && angle == NULL) {
			buf_reset(&plain); /* "group-name:" */
		} else if (*p != ';' && *p != ',' &&
		           !(angle == NULL && (*p == ' ' || *p == '\t'))) {
			buf_append(&plain, p, 1);
		}
	}
	return plain.data;
}

char *
address_spec(const char *address)
{
	return addr_spec(address);
}

char *
address_domain(const char *address)
{
	char *spec = addr_spec(address);
	const char *at = strrchr(spec, '@');
	char *domain = NULL;

	if (at != NULL && at[1] != '\0') {
		domain = xstrdup(at + 1);
		size_t len = strlen(domain);
		while (len > 0 &&
		       (isspace((unsigned char)domain[len - 1]) || domain[len - 1] == '.'))
			domain[--len] = '\0';
		for (char *p = domain; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (*domain == '\0') {
			free(domain);
			domain = NULL;
		}
	}
	free(spec);
	return domain;
}

char *
first_address_domain(const char *value)
{
	struct addrlist list;
	char *domain = NULL;

	if (value == NULL)
		return NULL;
	addrlist_split(value, &list);
	if (list.count > 0)
		domain = address_domain(list.items[0]);
	addrlist_free(&list);
	return domain;
}
