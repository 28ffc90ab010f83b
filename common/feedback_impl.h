/*
 * feedback_impl - what the feedback_*.c files share, not for callers
 *
 * feedback_mime.c walks the message with GMime and fills a struct
 * fb_parts with the pieces the readers need, already decoded: the
 * delivery-status and feedback-report field blocks, the human-readable
 * text, and the original message's headers.  The readers
 * (feedback_dsn.c, feedback_text.c, feedback_arf.c) turn those into
 * struct feedback; feedback_fields.c has the helpers they share.
 */
#ifndef MW_FEEDBACK_IMPL_H
#define MW_FEEDBACK_IMPL_H

#include "common/buf.h"
#include "common/feedback.h"

struct fb_parts {
	char *report_type; /* multipart/report's report-type, lower case, or NULL */
	struct buf dsn;    /* message/delivery-status content */
	struct buf arf;    /* message/feedback-report content */
	struct buf text;   /* the first text/plain (or text/html as text) part */
	bool has_dsn, has_arf, has_original;
	bool raw_body; /* text is the undecoded body: MIME found no part to read */
	/* the feedback message's own headers */
	struct feedback_header *headers;
	size_t header_count;
};

/* One "Name: value" field of a DSN or ARF block. */
struct fb_field {
	char *name;
	char *value;
};

/* A block of fields; DSN blocks are separated by blank lines. */
struct fb_group {
	struct fb_field *fields;
	size_t count;
};

struct fb_groups {
	struct fb_group *groups;
	size_t count;
};

/* feedback_mime.c */
int fb_mime_walk(const char *msg, size_t len, struct fb_parts *parts,
                 struct feedback_original *orig, struct buf *err);
void fb_parts_free(struct fb_parts *parts);
void fb_original_from_text(const char *text, size_t len, struct feedback_original *orig);
void fb_tokens_scan(const char *text, struct feedback_original *orig);
const char *fb_header(const struct feedback_header *headers, size_t count, const char *name);

/* feedback_fields.c */
void fb_fields_parse(const char *text, size_t len, struct fb_groups *out);
void fb_groups_free(struct fb_groups *groups);
const char *fb_field(const struct fb_group *group, const char *name);
char *fb_strip_type(const char *value);
char *fb_address_clean(const char *value);
char *fb_bare_address(const char *value);
bool fb_find_status(const char *text, char out[16]);
int fb_find_reply_class(const char *text);
char *fb_capped(const char *text, size_t max);
char *fb_find_ip(const char *text);
/* Only an address written name[ADDRESS] (Postfix's host[ip]): others may be the sender's. */
char *fb_find_host_ip(const char *text);
bool fb_contains_ci(const char *haystack, const char *needle);
void fb_add_rcpt(struct feedback *fb, const char *address, const char *action, const char *status,
                 const char *diagnostic);

/* feedback.c: a Date value in ISO 8601 UTC, or NULL */
char *fb_date_iso8601(const char *value);

/* feedback_dsn.c, feedback_text.c, feedback_arf.c */
void fb_dsn_read(const char *text, size_t len, struct feedback *fb);
bool fb_text_read(const struct fb_parts *parts, struct feedback *fb);
/* The indented lines below the line that leads with address (Exim's reason). */
void fb_text_diagnostic_for(const struct fb_parts *parts, const char *address, struct buf *out);
void fb_arf_read(const struct fb_parts *parts, struct feedback *fb);

#endif
