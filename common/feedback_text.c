/*
 * feedback_text - bounces without a delivery-status part
 *
 * Exim, qmail, Yahoo, old Exchange and many others write the failure as
 * text: an address on a line of its own (or leading it: "  a@b",
 * "<a@b>:", "a@b on 11/23/2026") followed, within a few lines, by the
 * remote server's reply.  A recipient is such an address with a status
 * code or SMTP reply on its line or the lines below it, up to the next
 * address line.  Text below the line that starts the returned copy of the
 * message is not the report's and is not read; the headers there give
 * the original message.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/feedback_impl.h"
#include "common/xalloc.h"

#define LOOKAHEAD 6

/* Lines that start the returned message, as the common MTAs write them. */
static const char *const copy_markers[] = {
	"------ This is a copy of the message",
	"--- Below this line is a copy of the message",
	"--- Below this line is the original",
	"----- Original message -----",
	"------ Original message",
	"Original message headers:",
	"----- Transcript of session follows",
	"------ Headers of the message",
	"----- The following is the original message",
};

static const char *
copy_start(const char *text)
{
	const char *best = NULL;

	for (size_t i = 0; i < sizeof(copy_markers) / sizeof(copy_markers[0]); i++) {
		const char *p = strstr(text, copy_markers[i]);
		if (p != NULL && (best == NULL || p < best))
			best = p;
	}
	return best;
}

static bool
address_char(int c)
{
	return isalnum(c) || strchr("._%+-=/'!#$&*?^`{|}~", c) != NULL;
}

/* The address leading a line (after blanks and "<"), or NULL; caller frees. */
static char *
leading_address(const char *line, size_t len)
{
	size_t i = 0, start, at = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '<'))
		i++;
	start = i;
	while (i < len && (address_char((unsigned char)line[i]) || line[i] == '@')) {
		if (line[i] == '@')
			at = i;
		i++;
	}
	if (at <= start || at + 1 >= i || memchr(line + at + 1, '.', i - at - 1) == NULL)
		return NULL;
	/* The address must be the line's subject, not a word in a sentence. */
	if (i < len && strchr(">: \t,", line[i]) == NULL)
		return NULL;
	char *addr = xstrndup(line + start, i - start);
	if (strncasecmp(addr, "mailer-daemon@", 14) == 0 ||
	    strncasecmp(addr, "postmaster@", 11) == 0) {
		free(addr);
		return NULL;
	}
	return addr;
}

struct lines {
	const char **start;
	size_t *len;
	size_t count;
};

static void
lines_split(const char *text, const char *end, struct lines *out)
{
	out->start = NULL;
	out->len = NULL;
	out->count = 0;
	for (const char *p = text; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = eol != NULL ? (size_t)(eol - p) : (size_t)(end - p);
		out->start = xgrow(out->start, out->count, sizeof(*out->start));
		out->len = xgrow(out->len, out->count, sizeof(*out->len));
		out->start[out->count] = p;
		out->len[out->count] = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
		out->count++;
		p += n + 1;
	}
}

static bool
has_code(const char *line)
{
	char code[16];

	return fb_find_status(line, code) || fb_find_reply_class(line) != 0;
}

/* The diagnostic of the address on line i: the lines with a code below it. */
static bool
diagnostic_after(const struct lines *l, size_t i, struct buf *diag)
{
	bool found = false;

	for (size_t j = i; j < l->count && j <= i + LOOKAHEAD; j++) {
		char *line = xstrndup(l->start[j], l->len[j]);
		char *addr = j > i ? leading_address(line, strlen(line)) : NULL;
		bool stop = addr != NULL && !has_code(line);
		free(addr);
		if (stop) {
			free(line);
			break;
		}
		if (has_code(line) || (found && l->len[j] > 0 && isspace((unsigned char)*line))) {
			const char *trimmed = line + strspn(line, " \t");
			if (diag->len > 0)
				buf_puts(diag, " ");
			buf_puts(diag, trimmed);
			found = true;
		} else if (found) {
			free(line);
			break;
		}
		free(line);
	}
	return found;
}

/* Exim and qmail name the remote host's address between the recipient and the reply. */
static void
remote_ip_near(const struct lines *l, size_t i, struct feedback *fb)
{
	for (size_t j = i + 1; j < l->count && j <= i + 3 && fb->remote_mta_ip == NULL; j++) {
		char *line = xstrndup(l->start[j], l->len[j]);
		fb->remote_mta_ip = fb_find_ip(line);
		free(line);
	}
}

static void
recipients_scan(const char *text, const char *end, struct feedback *fb)
{
	struct lines l;

	lines_split(text, end, &l);
	for (size_t i = 0; i < l.count; i++) {
		char *line = xstrndup(l.start[i], l.len[i]);
		char *addr = leading_address(line, strlen(line));
		struct buf diag = BUF_INIT;
		char code[16] = "";
		if (addr != NULL && diagnostic_after(&l, i, &diag)) {
			const char *d = buf_str(&diag);
			int klass = fb_find_reply_class(d);
			/* RFC 3464 wants a status; the reply's class is all there is. */
			if (!fb_find_status(d, code) && klass != 0)
				snprintf(code, sizeof(code), "%d.0.0", klass);
			fb_add_rcpt(fb, addr, "failed", code[0] != '\0' ? code : NULL, d);
			remote_ip_near(&l, i, fb);
		}
		free(addr);
		free(line);
		buf_free(&diag);
	}
	free(l.start);
	free(l.len);
}

void
fb_text_diagnostic_for(const struct fb_parts *parts, const char *address, struct buf *out)
{
	const char *text = buf_str(&parts->text), *copy = copy_start(text);
	struct lines l;

	lines_split(text, copy != NULL ? copy : text + parts->text.len, &l);
	for (size_t i = 0; i < l.count && out->len == 0; i++) {
		char *line = xstrndup(l.start[i], l.len[i]);
		char *addr = leading_address(line, strlen(line));
		bool match = addr != NULL && strcasecmp(addr, address) == 0;
		free(addr);
		free(line);
		for (size_t j = i + 1; match && j < l.count && j <= i + LOOKAHEAD; j++) {
			if (l.len[j] == 0 || !isspace((unsigned char)*l.start[j]))
				break;
			size_t skip = strspn(l.start[j], " \t");
			if (skip >= l.len[j])
				break;
			if (out->len > 0)
				buf_puts(out, " ");
			buf_append(out, l.start[j] + skip, l.len[j] - skip);
		}
	}
	free(l.start);
	free(l.len);
}

static const char *
format_of(const char *text)
{
	if (strstr(text, "qmail-send program") != NULL)
		return "qmail";
	if (strstr(text, "by mail delivery software") != NULL)
		return "exim";
	if (strstr(text, "unable to deliver your message") != NULL)
		return "yahoo";
	if (strstr(text, "could not be delivered to one or more recipients") != NULL ||
	    strstr(text, "cannot be reached") != NULL)
		return "exchange";
	return "text";
}

bool
fb_text_read(const struct fb_parts *parts, struct feedback *fb)
{
	const char *text = buf_str(&parts->text);
	const char *copy = copy_start(text);
	const char *end = copy != NULL ? copy : text + parts->text.len;
	size_t before = fb->rcpt_count;

	recipients_scan(text, end, fb);
	if (copy != NULL && !fb->orig.present) {
		const char *nl = strchr(copy, '\n');
		if (nl != NULL) {
			nl += strspn(nl, "\r\n");
			fb_original_from_text(nl, strlen(nl), &fb->orig);
		}
	}
	if (fb->rcpt_count == before)
		return false;
	fb->format = format_of(text);
	if (fb->remote_mta_ip == NULL)
		for (size_t i = before; i < fb->rcpt_count && fb->remote_mta_ip == NULL; i++)
			fb->remote_mta_ip = fb_find_host_ip(fb->rcpts[i].diagnostic);
	return true;
}
