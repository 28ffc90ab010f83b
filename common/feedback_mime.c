/*
 * feedback_mime - the GMime walk of a feedback message; see feedback_impl.h
 *
 * The message is parsed by GMime (never by hand: transfer encodings,
 * charsets, broken boundaries are its job).  The walk keeps the first
 * message/delivery-status, the first message/feedback-report, the first
 * text/plain outside the returned message, and the headers of the
 * returned message (message/rfc822, message/global or
 * text/rfc822-headers).  It does not descend into the returned message:
 * its body is the sender's, not the report's.
 */
#include "config.h"

#include <ctype.h>
#include <gmime/gmime.h>
#include <pthread.h>
#include <string.h>

#include "common/feedback_impl.h"
#include "common/xalloc.h"

#define MAX_DEPTH 8

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void
init_gmime(void)
{
	g_mime_init();
}

void
feedback_init(void)
{
	pthread_once(&init_once, init_gmime);
}

static GMimeMessage *
message_from(const char *data, size_t len)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *message = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(stream);
	return message;
}

static void
headers_copy(GMimeObject *object, struct feedback_header **out, size_t *count)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(object);
	int n = list != NULL ? g_mime_header_list_get_count(list) : 0;

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
		const char *name = g_mime_header_get_name(h);
		const char *value = g_mime_header_get_value(h);
		if (name == NULL)
			continue;
		*out = xgrow(*out, *count, sizeof(**out));
		(*out)[*count].name = xstrdup(name);
		(*out)[*count].value = xstrdup(value != NULL ? value : "");
		(*count)++;
	}
}

const char *
fb_header(const struct feedback_header *headers, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (strcasecmp(headers[i].name, name) == 0)
			return headers[i].value;
	return NULL;
}

/* The TOKEN of every b-TOKEN@ in text (53 base32 characters). */
void
fb_tokens_scan(const char *text, struct feedback_original *orig)
{
	for (const char *p = text; (p = strchr(p, '-')) != NULL; p++) {
		char token[54];
		size_t n = 0;
		if (p == text || (p[-1] != 'b' && p[-1] != 'B') ||
		    (p - 1 > text && (isalnum((unsigned char)p[-2]) || p[-2] == '-')))
			continue;
		while (n < 53 &&
		       (isalpha((unsigned char)p[1 + n]) || (p[1 + n] >= '2' && p[1 + n] <= '7')))
			n++;
		if (n != 53 || p[1 + n] != '@')
			continue;
		for (size_t i = 0; i < n; i++)
			token[i] = (char)tolower((unsigned char)p[1 + i]);
		token[n] = '\0';
		bool seen = false;
		for (size_t i = 0; i < orig->token_count; i++)
			seen = seen || strcmp(orig->tokens[i], token) == 0;
		if (!seen && orig->token_count < FEEDBACK_MAX_TOKENS)
			orig->tokens[orig->token_count++] = xstrdup(token);
	}
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static char *
message_id_bare(const char *value)
{
	const char *start, *end;

	if (value == NULL)
		return NULL;
	start = value + strspn(value, " \t<");
	end = strchr(start, '>');
	if (end == NULL)
		end = start + strcspn(start, " \t\r\n");
	return end > start ? xstrndup(start, (size_t)(end - start)) : NULL;
}

static void
original_fill(GMimeObject *object, struct feedback_original *orig)
{
	const struct feedback_header *h;
	size_t n;

	headers_copy(object, &orig->headers, &orig->header_count);
	h = orig->headers;
	n = orig->header_count;
	orig->present = n > 0;
	orig->message_id = message_id_bare(fb_header(h, n, "Message-ID"));
	orig->from = dup_or_null(fb_header(h, n, "From"));
	orig->to = dup_or_null(fb_header(h, n, "To"));
	orig->subject = dup_or_null(fb_header(h, n, "Subject"));
	orig->date = dup_or_null(fb_header(h, n, "Date"));
	orig->return_path = dup_or_null(fb_header(h, n, "Return-Path"));
	orig->feedback_id = dup_or_null(fb_header(h, n, "Feedback-ID"));
	orig->configuration_set = dup_or_null(fb_header(h, n, "X-SES-CONFIGURATION-SET"));
	orig->stream = dup_or_null(fb_header(h, n, "X-Mailward-Stream"));
	for (size_t i = 0; i < n; i++)
		fb_tokens_scan(h[i].value, orig);
}

void
fb_original_from_text(const char *text, size_t len, struct feedback_original *orig)
{
	struct buf copy = BUF_INIT;
	GMimeMessage *message;

	if (orig->present)
		return;
	buf_append(&copy, text, len);
	buf_puts(&copy, "\n\n");
	message = message_from(copy.data, copy.len);
	if (message != NULL) {
		original_fill(GMIME_OBJECT(message), orig);
		g_object_unref(message);
	}
	buf_free(&copy);
}

static void
content_append(GMimePart *part, struct buf *out)
{
	GMimeDataWrapper *wrapper = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *bytes;

	if (wrapper == NULL)
		return;
	mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(wrapper, mem);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	if (bytes != NULL)
		buf_append(out, bytes->data, bytes->len);
	g_object_unref(mem);
}

static void
text_append(GMimeObject *object, struct buf *out)
{
	char *text = NULL;

	if (GMIME_IS_TEXT_PART(object))
		text = g_mime_text_part_get_text(GMIME_TEXT_PART(object));
	if (text != NULL) {
		buf_puts(out, text);
		g_free(text);
	} else {
		content_append(GMIME_PART(object), out);
	}
}

static void walk(GMimeObject *object, int depth, struct fb_parts *parts,
                 struct feedback_original *orig);

static void
walk_leaf(GMimeObject *object, struct fb_parts *parts, struct feedback_original *orig)
{
	GMimeContentType *ct = g_mime_object_get_content_type(object);

	if (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
	    g_mime_content_type_is_type(ct, "message", "global-delivery-status")) {
		if (!parts->has_dsn)
			content_append(GMIME_PART(object), &parts->dsn);
		parts->has_dsn = true;
	} else if (g_mime_content_type_is_type(ct, "message", "feedback-report")) {
		if (!parts->has_arf)
			content_append(GMIME_PART(object), &parts->arf);
		parts->has_arf = true;
	} else if (g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
	           g_mime_content_type_is_type(ct, "message", "global-headers")) {
		struct buf headers = BUF_INIT;
		content_append(GMIME_PART(object), &headers);
		fb_original_from_text(headers.data != NULL ? headers.data : "", headers.len, orig);
		parts->has_original = true;
		buf_free(&headers);
	} else if (g_mime_content_type_is_type(ct, "text", "plain") && parts->text.len == 0) {
		text_append(object, &parts->text);
	}
}

static void
walk(GMimeObject *object, int depth, struct fb_parts *parts, struct feedback_original *orig)
{
	if (object == NULL || depth > MAX_DEPTH)
		return;
	if (GMIME_IS_MULTIPART(object)) {
		GMimeMultipart *multi = GMIME_MULTIPART(object);
		int n = g_mime_multipart_get_count(multi);
		for (int i = 0; i < n; i++)
			walk(g_mime_multipart_get_part(multi, i), depth + 1, parts, orig);
	} else if (GMIME_IS_MESSAGE_PART(object)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
		if (inner != NULL && !orig->present)
			original_fill(GMIME_OBJECT(inner), orig);
		parts->has_original = parts->has_original || inner != NULL;
	} else if (GMIME_IS_PART(object)) {
		walk_leaf(object, parts, orig);
	}
}

static char *
lower_dup(const char *s)
{
	char *copy = xstrdup(s);

	for (char *p = copy; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return copy;
}

/*
 * When GMime finds no part to read (a multipart without its boundary), the
 * body as it is: the readers may still recognise a bounce in it.
 */
static void
raw_body(const char *msg, size_t len, struct fb_parts *parts)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (msg[i] != '\n')
			continue;
		size_t next = i + 1 + (msg[i + 1] == '\r');
		if (next < len && msg[next] == '\n') {
			buf_append(&parts->text, msg + next + 1, len - next - 1);
			parts->raw_body = true;
			return;
		}
	}
}

int
fb_mime_walk(const char *msg, size_t len, struct fb_parts *parts, struct feedback_original *orig,
             struct buf *err)
{
	GMimeMessage *message = message_from(msg, len);
	GMimeObject *body;
	GMimeContentType *ct;

	if (message == NULL) {
		buf_puts(err, "not a readable message");
		return -1;
	}
	headers_copy(GMIME_OBJECT(message), &parts->headers, &parts->header_count);
	body = g_mime_message_get_mime_part(message);
	if (body != NULL) {
		ct = g_mime_object_get_content_type(body);
		const char *report_type = g_mime_content_type_get_parameter(ct, "report-type");
		if (g_mime_content_type_is_type(ct, "multipart", "report") && report_type != NULL)
			parts->report_type = lower_dup(report_type);
		walk(body, 0, parts, orig);
	}
	for (size_t i = 0; i < parts->header_count; i++)
		fb_tokens_scan(parts->headers[i].value, orig);
	/* X-Postfix-Sender, Original-Mail-From: the report's fields name it too. */
	fb_tokens_scan(buf_str(&parts->dsn), orig);
	fb_tokens_scan(buf_str(&parts->arf), orig);
	g_object_unref(message);
	if (!parts->has_dsn && !parts->has_arf && parts->text.len == 0)
		raw_body(msg, len, parts);
	return 0;
}

void
fb_parts_free(struct fb_parts *parts)
{
	free(parts->report_type);
	buf_free(&parts->dsn);
	buf_free(&parts->arf);
	buf_free(&parts->text);
	for (size_t i = 0; i < parts->header_count; i++) {
		free(parts->headers[i].name);
		free(parts->headers[i].value);
	}
	free(parts->headers);
}
