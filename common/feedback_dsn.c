/*
 * feedback_dsn - RFC 3464 delivery status notifications
 *
 * The first block of the message/delivery-status part is about the
 * message (Reporting-MTA, Arrival-Date), every later block with a
 * Final-Recipient or Original-Recipient about one recipient (Action,
 * Status, Diagnostic-Code, Remote-MTA, Will-Retry-Until).  A recipient
 * without a Status takes the enhanced code of its diagnostic; one without
 * an Action failed (a DSN is sent for failures unless it says otherwise).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/feedback_impl.h"
#include "common/xalloc.h"

static char *
lower_word(const char *value)
{
	char *word;
	size_t n;

	if (value == NULL)
		return NULL;
	value += strspn(value, " \t");
	n = strcspn(value, " \t;(");
	word = xstrndup(value, n);
	for (char *p = word; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return word;
}

static void
message_fields(const struct fb_group *group, struct feedback *fb)
{
	const char *mta = fb_field(group, "Reporting-MTA");
	const char *arrival = fb_field(group, "Arrival-Date");

	if (mta != NULL && fb->reporting_mta == NULL)
		fb->reporting_mta = fb_strip_type(mta);
	if (arrival != NULL && fb->arrival_date == NULL)
		fb->arrival_date = xstrdup(arrival);
}

static void
recipient_fields(const struct fb_group *group, struct feedback *fb)
{
	const char *final = fb_field(group, "Final-Recipient");
	const char *original = fb_field(group, "Original-Recipient");
	const char *status = NULL;
	const char *diagnostic = fb_field(group, "Diagnostic-Code");
	const char *remote = fb_field(group, "Remote-MTA");
	const char *retry = fb_field(group, "Will-Retry-Until");
	char *action = lower_word(fb_field(group, "Action"));
	char code[16], *diag = fb_strip_type(diagnostic);
	size_t before = fb->rcpt_count;

	if (fb_find_status(fb_field(group, "Status"), code) || fb_find_status(diag, code))
		status = code;
	fb_add_rcpt(fb, final != NULL ? final : original, action != NULL ? action : "failed",
	            status, diagnostic != NULL ? diagnostic : NULL);
	if (fb->rcpt_count > before) {
		struct feedback_rcpt *r = &fb->rcpts[before];
		r->original = original != NULL ? fb_address_clean(original) : NULL;
		r->remote_mta = fb_strip_type(remote);
	}
	if (remote != NULL && fb->remote_mta_ip == NULL)
		fb->remote_mta_ip = fb_find_ip(remote);
	if (fb->remote_mta_ip == NULL)
		fb->remote_mta_ip = fb_find_host_ip(diag);
	if (retry != NULL && fb->expiration == NULL)
		fb->expiration = xstrdup(retry);
	free(action);
	free(diag);
}

void
fb_dsn_read(const char *text, size_t len, struct feedback *fb)
{
	struct fb_groups groups;

	fb_fields_parse(text, len, &groups);
	for (size_t g = 0; g < groups.count; g++) {
		const struct fb_group *group = &groups.groups[g];
		if (fb_field(group, "Final-Recipient") != NULL ||
		    fb_field(group, "Original-Recipient") != NULL)
			recipient_fields(group, fb);
		else
			message_fields(group, fb);
	}
	fb_groups_free(&groups);
}
