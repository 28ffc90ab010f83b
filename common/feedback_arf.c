/*
 * feedback_arf - complaints in the Abuse Reporting Format (RFC 5965, 6650)
 *
 * The message/feedback-report part names the Feedback-Type, User-Agent,
 * Arrival-Date, Source-IP and, optionally, the complaining recipient
 * (Original-Rcpt-To; RFC 6650 lets providers redact it).  Without it the
 * complained recipient is the To of the attached original, which is what
 * a feedback loop usually leaves.  An unknown feedback type reads as
 * "other" (RFC 5965 7.3 lets new types appear).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/feedback_impl.h"
#include "common/header.h"
#include "common/xalloc.h"

static const char *const known_types[] = {
	"abuse", "auth-failure", "fraud", "not-spam", "other", "virus",
};

static char *
feedback_type(const char *value)
{
	size_t n;

	if (value == NULL)
		return xstrdup("other");
	value += strspn(value, " \t");
	n = strcspn(value, " \t;");
	for (size_t i = 0; i < sizeof(known_types) / sizeof(known_types[0]); i++)
		if (strlen(known_types[i]) == n && strncasecmp(value, known_types[i], n) == 0)
			return xstrdup(known_types[i]);
	return xstrdup("other");
}

static void
complained_from(const char *to, struct feedback *fb)
{
	struct addrlist list;

	if (to == NULL)
		return;
	addrlist_split(to, &list);
	for (size_t i = 0; i < list.count; i++)
		fb_add_rcpt(fb, list.items[i], NULL, NULL, NULL);
	addrlist_free(&list);
}

void
fb_arf_read(const struct fb_parts *parts, struct feedback *fb)
{
	struct fb_groups groups;

	fb_fields_parse(parts->arf.data != NULL ? parts->arf.data : "", parts->arf.len, &groups);
	for (size_t g = 0; g < groups.count; g++) {
		const struct fb_group *group = &groups.groups[g];
		const char *v;
		if ((v = fb_field(group, "Feedback-Type")) != NULL && fb->feedback_type == NULL)
			fb->feedback_type = feedback_type(v);
		if ((v = fb_field(group, "User-Agent")) != NULL && fb->user_agent == NULL)
			fb->user_agent = xstrdup(v);
		if ((v = fb_field(group, "Arrival-Date")) != NULL && fb->arrival_date == NULL)
			fb->arrival_date = xstrdup(v);
		if ((v = fb_field(group, "Received-Date")) != NULL && fb->arrival_date == NULL)
			fb->arrival_date = xstrdup(v);
		if ((v = fb_field(group, "Source-IP")) != NULL && fb->source_ip == NULL)
			fb->source_ip = xstrdup(v);
		if ((v = fb_field(group, "Reporting-MTA")) != NULL && fb->reporting_mta == NULL)
			fb->reporting_mta = fb_strip_type(v);
		for (size_t i = 0; i < group->count; i++)
			if (strcasecmp(group->fields[i].name, "Original-Rcpt-To") == 0)
				fb_add_rcpt(fb, group->fields[i].value, NULL, NULL, NULL);
	}
	fb_groups_free(&groups);
	if (fb->feedback_type == NULL)
		fb->feedback_type = xstrdup("other");
	if (fb->rcpt_count == 0)
		complained_from(fb->orig.to, fb);
	fb->format = "arf";
}
