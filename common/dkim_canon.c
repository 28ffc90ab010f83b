/*
 * dkim_canon - DKIM header and body canonicalization; see dkim_canon.h.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "common/dkim_canon.h"
#include "common/log.h"

static bool
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static void
canon_header_relaxed(const char *name, const char *value, struct buf *out)
{
	size_t nlen = strlen(name);
	bool space = false, started = false;

	while (nlen > 0 && is_wsp((unsigned char)name[nlen - 1]))
		nlen--;
	for (size_t i = 0; i < nlen; i++) {
		char c = (char)tolower((unsigned char)name[i]);
		buf_append(out, &c, 1);
	}
	buf_append(out, ":", 1);
	for (const char *p = value; *p; p++) {
		if (*p == '\r' || *p == '\n')
			continue; /* unfold */
		if (is_wsp((unsigned char)*p)) {
			space = started;
			continue;
		}
		if (space)
			buf_append(out, " ", 1);
		buf_append(out, p, 1);
		space = false;
		started = true;
	}
}

static void
canon_header_simple(const char *name, const char *value, struct buf *out)
{
	buf_puts(out, name);
	buf_append(out, ":", 1);
	for (const char *p = value; *p; p++) {
		if (*p == '\n' && (p == value || p[-1] != '\r'))
			buf_append(out, "\r", 1);
		buf_append(out, p, 1);
	}
}

void
dkim_canon_header(enum dkim_canon canon, const char *name, const char *value, struct buf *out,
                  bool crlf)
{
	if (canon == DKIM_CANON_RELAXED)
		canon_header_relaxed(name, value, out);
	else
		canon_header_simple(name, value, out);
	if (crlf)
		buf_append(out, "\r\n", 2);
}

void
dkim_body_init(struct dkim_body *body, enum dkim_canon canon)
{
	memset(body, 0, sizeof(*body));
	body->canon = canon;
	body->limit = UINT64_MAX;
	body->sha = EVP_MD_CTX_new();
	if (body->sha == NULL || EVP_DigestInit_ex(body->sha, EVP_sha256(), NULL) != 1)
		log_panic("SHA-256 unavailable");
}

void
dkim_body_free(struct dkim_body *body)
{
	EVP_MD_CTX_free(body->sha);
	body->sha = NULL;
}

/* Canonical output is collected in a small buffer and hashed in bulk. */
struct out {
	struct dkim_body *body;
	unsigned char data[4096];
	size_t len;
};

void
dkim_body_set_limit(struct dkim_body *body, uint64_t limit)
{
	body->limit = limit;
}

static void
out_flush(struct out *o)
{
	struct dkim_body *b = o->body;

	if (o->len == 0)
		return;
	if (b->length < b->limit) {
		uint64_t room = b->limit - b->length;
		EVP_DigestUpdate(b->sha, o->data, room < o->len ? (size_t)room : o->len);
	}
	b->length += o->len;
	o->len = 0;
}

static void
out_byte(struct out *o, unsigned char c)
{
	if (o->len == sizeof(o->data))
		out_flush(o);
	o->data[o->len++] = c;
}

static void
out_bytes(struct out *o, const unsigned char *data, size_t len)
{
	while (len > 0) {
		if (o->len == sizeof(o->data))
			out_flush(o);
		size_t n = sizeof(o->data) - o->len < len ? sizeof(o->data) - o->len : len;
		memcpy(o->data + o->len, data, n);
		o->len += n;
		data += n;
		len -= n;
	}
}

static void
out_content(struct out *o, unsigned char c)
{
	struct dkim_body *b = o->body;

	for (; b->pending_crlf > 0; b->pending_crlf--) {
		out_byte(o, '\r');
		out_byte(o, '\n');
	}
	if (b->pending_space) {
		out_byte(o, ' ');
		b->pending_space = false;
	}
	out_byte(o, c);
	b->line_started = true;
}

/* Empty lines wait in pending_crlf: they vanish if nothing follows them. */
static void
out_line_end(struct out *o)
{
	struct dkim_body *b = o->body;

	b->pending_space = false;
	if (b->line_started) {
		out_byte(o, '\r');
		out_byte(o, '\n');
		b->line_started = false;
	} else {
		b->pending_crlf++;
	}
}

/* Bytes that end a run of plain text: line ends, and white space under relaxed. */
static const unsigned char stops_relaxed[256] = { ['\r'] = 1, ['\n'] = 1, [' '] = 1, ['\t'] = 1 };
static const unsigned char stops_simple[256] = { ['\r'] = 1, ['\n'] = 1 };

/* Bytes from data on that canonicalization passes through unchanged. */
static size_t
plain_run(const unsigned char *data, size_t len, bool relaxed)
{
	const unsigned char *stops = relaxed ? stops_relaxed : stops_simple;
	size_t n = 0;

	while (n < len && !stops[data[n]])
		n++;
	return n;
}

void
dkim_body_update(struct dkim_body *body, const unsigned char *data, size_t len)
{
	struct out o = { .body = body, .len = 0 };
	bool relaxed = body->canon == DKIM_CANON_RELAXED;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = data[i];
		if (body->saw_cr) {
			body->saw_cr = false;
			if (c == '\n') {
				out_line_end(&o);
				continue;
			}
			out_content(&o, '\r'); /* a bare CR is content */
		}
		if (c == '\r') {
			body->saw_cr = true;
		} else if (c == '\n') {
			out_line_end(&o);
		} else if (relaxed && is_wsp(c)) {
			body->pending_space = true;
		} else {
			/* Plain bytes come in runs: emit the first, copy the rest as they are. */
			size_t run = plain_run(data + i + 1, len - i - 1, relaxed);
			out_content(&o, c);
			out_bytes(&o, data + i + 1, run);
			i += run;
		}
	}
	out_flush(&o);
}

void
dkim_body_final(struct dkim_body *body, unsigned char digest[32])
{
	struct out o = { .body = body, .len = 0 };
	unsigned int dlen = 32;

	if (body->saw_cr)
		out_content(&o, '\r');
	body->pending_space = false;
	if (body->line_started) /* a last line without its line end */
		out_line_end(&o);
	/* RFC 6376 3.4.3: an empty body is one CRLF under "simple". */
	if (body->canon == DKIM_CANON_SIMPLE && body->length == 0 && o.len == 0) {
		out_byte(&o, '\r');
		out_byte(&o, '\n');
	}
	out_flush(&o);
	EVP_DigestFinal_ex(body->sha, digest, &dlen);
}
