/*
 * header - header fields and address lists; see header.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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
	out->items = xreallocarray(out->items, out->count + 1, sizeof(char *));
	char *item = xstrndup(start, (size_t)(end - start));
	/* Unfold: CR and LF inside an address become spaces. */
	for (char *p = item; *p; p++)
		if (*p == '\r' || *p == '\n' || *p == '\t')
			*p = ' ';
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

char *
address_domain(const char *address)
{
	const char *lt = strrchr(address, '<');
	const char *from = lt ? lt + 1 : address;
	const char *end = lt ? strchr(from, '>') : NULL;
	size_t len = end ? (size_t)(end - from) : strlen(from);
	const char *at = NULL;

	for (size_t i = 0; i < len; i++)
		if (from[i] == '@')
			at = from + i;
	if (at == NULL || at + 1 >= from + len)
		return NULL;
	char *domain = xstrndup(at + 1, (size_t)(from + len - at - 1));
	size_t dlen = strlen(domain);
	while (dlen > 0 && (isspace((unsigned char)domain[dlen - 1]) || domain[dlen - 1] == '.'))
		domain[--dlen] = '\0';
	for (char *p = domain; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (*domain == '\0') {
		free(domain);
		return NULL;
	}
	return domain;
}
