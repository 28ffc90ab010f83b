/*
 * feedback_fields - the small readers the DSN, ARF and text readers share
 *
 * DSN and ARF reports are blocks of "Name: value" fields (RFC 3464 2.1,
 * RFC 5965 3.1), folded like header fields, blocks separated by blank
 * lines.  This is not MIME: GMime has already decoded the part.  The
 * rest finds status codes, SMTP replies and IP addresses in free text.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/feedback_impl.h"
#include "common/utf8.h"
#include "common/xalloc.h"

static void
group_add(struct fb_group *group, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t name_len;

	if (colon == NULL)
		return;
	name_len = (size_t)(colon - line);
	while (name_len > 0 && isspace((unsigned char)line[name_len - 1]))
		name_len--;
	if (name_len == 0)
		return;
	group->fields = xgrow(group->fields, group->count, sizeof(*group->fields));
	group->fields[group->count].name = xstrndup(line, name_len);
	const char *value = colon + 1;
	const char *end = line + len;
	while (value < end && isspace((unsigned char)*value))
		value++;
	while (end > value && isspace((unsigned char)end[-1]))
		end--;
	group->fields[group->count].value = xstrndup(value, (size_t)(end - value));
	group->count++;
}

static void
groups_next(struct fb_groups *out)
{
	if (out->count > 0 && out->groups[out->count - 1].count == 0)
		return;
	out->groups = xgrow(out->groups, out->count, sizeof(*out->groups));
	out->groups[out->count].fields = NULL;
	out->groups[out->count].count = 0;
	out->count++;
}

void
fb_fields_parse(const char *text, size_t len, struct fb_groups *out)
{
	struct buf field = BUF_INIT;
	const char *p = text, *end = text + len;

	out->groups = NULL;
	out->count = 0;
	groups_next(out);
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = eol != NULL ? (size_t)(eol - p) : (size_t)(end - p);
		size_t visible = n;
		while (visible > 0 &&
		       (p[visible - 1] == '\r' || p[visible - 1] == ' ' || p[visible - 1] == '\t'))
			visible--;
		/* visible > 0: a line of blanks separates blocks, it does not continue a field. */
		if (visible > 0 && (*p == ' ' || *p == '\t') && field.len > 0) {
			buf_puts(&field, " ");
			buf_append(&field, p + strspn(p, " \t"), visible - strspn(p, " \t"));
		} else {
			if (field.len > 0)
				group_add(&out->groups[out->count - 1], field.data, field.len);
			buf_reset(&field);
			if (visible == 0)
				groups_next(out);
			else
				buf_append(&field, p, visible);
		}
		p += n + (eol != NULL);
	}
	if (field.len > 0)
		group_add(&out->groups[out->count - 1], field.data, field.len);
	buf_free(&field);
}

void
fb_groups_free(struct fb_groups *groups)
{
	for (size_t g = 0; g < groups->count; g++) {
		for (size_t i = 0; i < groups->groups[g].count; i++) {
			free(groups->groups[g].fields[i].name);
			free(groups->groups[g].fields[i].value);
		}
		free(groups->groups[g].fields);
	}
	free(groups->groups);
}

const char *
fb_field(const struct fb_group *group, const char *name)
{
	for (size_t i = 0; i < group->count; i++)
		if (strcasecmp(group->fields[i].name, name) == 0)
			return group->fields[i].value;
	return NULL;
}

/* "rfc822; a@b" -> "a@b", "dns; mx.example" -> "mx.example". */
char *
fb_strip_type(const char *value)
{
	const char *semi;

	if (value == NULL)
		return NULL;
	semi = strchr(value, ';');
	if (semi != NULL)
		value = semi + 1;
	value += strspn(value, " \t");
	return xstrdup(value);
}

/* An address from "<A@B.example>" or "rfc822; a@b": no brackets, domain lower case. */
char *
fb_address_clean(const char *value)
{
	char *addr = fb_strip_type(value), *at;
	char *start, *end;

	if (addr == NULL)
		return NULL;
	start = addr + strspn(addr, " \t<\"'");
	end = start + strcspn(start, " \t>\"',;");
	memmove(addr, start, (size_t)(end - start));
	addr[end - start] = '\0';
	at = strrchr(addr, '@');
	/* Raw 8-bit that is not UTF-8 names no mailbox anyone sent to: not an address. */
	if (at == NULL || at == addr || at[1] == '\0' || !utf8_valid(addr, strlen(addr))) {
		free(addr);
		return NULL;
	}
	for (char *p = at; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return addr;
}

/* "Name <a@b>" -> "a@b"; an address without brackets as it is. */
char *
fb_bare_address(const char *value)
{
	const char *open = strrchr(value, '<');
	const char *close = open != NULL ? strchr(open, '>') : NULL;

	if (open != NULL && close != NULL)
		return xstrndup(open + 1, (size_t)(close - open - 1));
	return xstrdup(value + strspn(value, " \t"));
}

static bool
digits(const char *p, size_t min, size_t max, size_t *n)
{
	size_t i = 0;

	while (i < max && isdigit((unsigned char)p[i]))
		i++;
	*n = i;
	return i >= min && !isdigit((unsigned char)p[i]);
}

/* The first enhanced status code (RFC 3463) "c.s.d" in text, c 2, 4 or 5. */
bool
fb_find_status(const char *text, char out[16])
{
	if (text == NULL)
		return false;
	for (const char *p = text; *p; p++) {
		size_t a, b;
		if ((*p != '2' && *p != '4' && *p != '5') || p[1] != '.' ||
		    (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '.')))
			continue;
		if (!digits(p + 2, 1, 3, &a) || p[2 + a] != '.' || !digits(p + 3 + a, 1, 3, &b))
			continue;
		if (isalpha((unsigned char)p[3 + a + b]) ||
		    (p[3 + a + b] == '.' && isdigit((unsigned char)p[4 + a + b])))
			continue;
		memcpy(out, p, 3 + a + b);
		out[3 + a + b] = '\0';
		return true;
	}
	return false;
}

/* The class (4 or 5) of the first SMTP reply code "4xx"/"5xx" in text, or 0. */
int
fb_find_reply_class(const char *text)
{
	if (text == NULL)
		return 0;
	for (const char *p = text; *p; p++) {
		if ((*p != '4' && *p != '5') ||
		    (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '.' || p[-1] == '#')))
			continue;
		if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || p[1] > '5')
			continue;
		if (p[3] == ' ' || p[3] == '-' || p[3] == ':' || p[3] == '\0' || p[3] == '\'')
			return *p - '0';
	}
	return 0;
}

char *
fb_capped(const char *text, size_t max)
{
	size_t len;

	if (text == NULL)
		return NULL;
	len = strlen(text);
	if (len <= max)
		return xstrdup(text);
	/* Do not cut a UTF-8 sequence in half. */
	while (max > 0 && ((unsigned char)text[max] & 0xc0) == 0x80)
		max--;
	return xstrndup(text, max);
}

/* The first IPv4 or bracketed IPv6 address in text, or NULL. */
char *
fb_find_ip(const char *text)
{
	if (text == NULL)
		return NULL;
	for (const char *p = text; *p; p++) {
		char candidate[64];
		size_t n = strspn(p, "0123456789abcdefABCDEF.:");
		unsigned char addr[16];
		if (n < 7 || n >= sizeof(candidate) || (p > text && isalnum((unsigned char)p[-1])))
			continue;
		memcpy(candidate, p, n);
		candidate[n] = '\0';
		if (inet_pton(AF_INET, candidate, addr) == 1 ||
		    (strchr(candidate, ':') != NULL && inet_pton(AF_INET6, candidate, addr) == 1))
			return xstrdup(candidate);
		p += n - 1;
	}
	return NULL;
}

char *
fb_find_host_ip(const char *text)
{
	if (text == NULL)
		return NULL;
	for (const char *p = strchr(text, '['); p != NULL; p = strchr(p + 1, '[')) {
		if (p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '.'))
			continue;
		char *ip = fb_find_ip(p + 1);
		if (ip != NULL && strncmp(p + 1, ip, strlen(ip)) == 0 && p[1 + strlen(ip)] == ']')
			return ip;
		free(ip);
	}
	return NULL;
}

bool
fb_contains_ci(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	if (haystack == NULL)
		return false;
	for (const char *p = haystack; *p; p++)
		if (strncasecmp(p, needle, n) == 0)
			return true;
	return false;
}

void
fb_add_rcpt(struct feedback *fb, const char *address, const char *action, const char *status,
            const char *diagnostic)
{
	struct feedback_rcpt *r;
	char *clean = fb_address_clean(address);

	if (clean == NULL)
		return;
	for (size_t i = 0; i < fb->rcpt_count; i++) {
		if (strcasecmp(fb->rcpts[i].address, clean) == 0) {
			free(clean);
			return;
		}
	}
	if (fb->rcpt_count >= FEEDBACK_MAX_RCPTS) {
		free(clean);
		return;
	}
	fb->rcpts = xgrow(fb->rcpts, fb->rcpt_count, sizeof(*fb->rcpts));
	r = &fb->rcpts[fb->rcpt_count++];
	memset(r, 0, sizeof(*r));
	r->address = clean;
	r->action = action != NULL ? xstrdup(action) : NULL;
	r->status = status != NULL ? xstrdup(status) : NULL;
	r->diagnostic = fb_capped(diagnostic, FEEDBACK_MAX_DIAGNOSTIC);
	feedback_classify(r->status, r->diagnostic, r->action, &r->type, &r->subtype);
}
