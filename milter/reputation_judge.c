/*
 * reputation_judge - judging counts, changing states, announcing changes
 *
 * Runs on the reputation writer thread (reputation.c), never on the mail
 * path.  Every change goes through reputation_store_change(), which
 * writes it only if the state is still the one it was judged from (the
 * CLI may have changed it meanwhile) and queues its announcement in the
 * same transaction; reputation_announce() turns announcements into spool
 * events and log lines.  An announcement is deleted once its event is in
 * the spool: a crash in between writes it twice, never loses it.
 */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/timefmt.h"
#include "milter/reputation.h"
#include "milter/reputation_impl.h"

void
reputation_limits_of(const struct policy_reputation *in, struct reputation_limits *out)
{
	long window = 86400;

	memset(out, 0, sizeof(*out));
	reputation_parse_rate(in->warn_complaint_rate, &out->warn_complaint);
	reputation_parse_rate(in->warn_bounce_rate, &out->warn_bounce);
	reputation_parse_rate(in->pause_complaint_rate, &out->pause_complaint);
	reputation_parse_rate(in->pause_bounce_rate, &out->pause_bounce);
	reputation_parse_duration(in->window, &window);
	reputation_parse_duration(in->auto_resume, &out->auto_resume_seconds);
	out->min_sends = in->min_sends;
	out->window_hours = window / 3600 > 0 ? window / 3600 : 1;
}

const struct policy_reputation *
reputation_policy_of(const struct policy *policy, enum reputation_kind kind, const char *name)
{
	if (kind == REPUTATION_DOMAIN)
		return &policy->domain_reputation;
	for (size_t i = 0; i < policy->stream_count; i++)
		if (strcmp(policy->streams[i].name, name) == 0)
			return &policy->streams[i].reputation;
	return NULL;
}

const char *
reputation_paused_type(enum reputation_kind kind)
{
	return kind == REPUTATION_DOMAIN ? "FromDomainPaused" : "StreamPaused";
}

const char *
reputation_resumed_type(enum reputation_kind kind)
{
	return kind == REPUTATION_DOMAIN ? "FromDomainResumed" : "StreamResumed";
}

static json_t *
json_time(time_t t)
{
	struct timespec ts = { t, 0 };
	char text[64];

	timefmt_iso8601(&ts, text, sizeof(text));
	return json_string(text);
}

static void
add_counts(json_t *o, const struct reputation_counts *c, const char *window,
           const struct reputation_finding *f)
{
	json_object_set_new(o, "window", json_string(window));
	json_object_set_new(o, "sends", json_integer(c->sends));
	json_object_set_new(o, "bounces", json_integer(c->bounces));
	json_object_set_new(o, "complaints", json_integer(c->complaints));
	json_object_set_new(o, "bounceRate", json_real(reputation_rate(c->bounces, c->sends)));
	json_object_set_new(o, "complaintRate",
	                    json_real(reputation_rate(c->complaints, c->sends)));
	if (f != NULL && f->metric != NULL) {
		char limit[REPUTATION_RATE_TEXT];
		reputation_format_limit(f->limit, limit);
		json_object_set_new(o, "metric", json_string(f->metric));
		json_object_set_new(o, "threshold",
		                    json_real((double)f->limit / REPUTATION_RATE_SCALE));
		json_object_set_new(o, "thresholdText", json_string(limit));
	}
}

char *
reputation_note_body(const struct reputation_record *rec, const char *by,
                     const struct reputation_counts *counts, const char *window,
                     const struct reputation_finding *finding)
{
	json_t *o = json_object();
	char *text;

	json_object_set_new(o, rec->kind == REPUTATION_DOMAIN ? "fromDomain" : "stream",
	                    json_string(rec->name));
	json_object_set_new(o, "timestamp", json_time(rec->since));
	json_object_set_new(o, "state", json_string(reputation_state_name(rec->state)));
	json_object_set_new(o, "by", json_string(by));
	if (rec->reason[0])
		json_object_set_new(o, "reason", json_string(rec->reason));
	if (rec->state == REPUTATION_STATE_PAUSED)
		json_object_set_new(o, "resumeAt",
		                    rec->resume_at ? json_time(rec->resume_at) : json_null());
	if (counts != NULL)
		add_counts(o, counts, window, finding);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* "complaint rate 0.42% > 0.30%" */
static void
reason_of(const struct reputation_finding *f, const struct reputation_counts *c, char *out,
          size_t outlen)
{
	char rate[REPUTATION_RATE_TEXT], limit[REPUTATION_RATE_TEXT];

	reputation_format_rate(f->count, c->sends, rate);
	reputation_format_limit(f->limit, limit);
	snprintf(out, outlen, "%s rate %s > %s", f->metric, rate, limit);
}

static void
change(struct store *store, struct reputation_record *rec, enum reputation_state from,
       const char *type, const struct reputation_counts *c, const char *window,
       const struct reputation_finding *f)
{
	struct buf err = BUF_INIT;
	char *body = type ? reputation_note_body(rec, "threshold", c, window, f) : NULL;

	if (reputation_store_change(store, rec, from, false, type, body, &err) < 0)
		log_warning(NULL, "reputation: %s %s not marked %s: %s",
		            reputation_kind_name(rec->kind), rec->name,
		            reputation_state_name(rec->state), buf_str(&err));
	free(body);
	buf_free(&err);
}

void
reputation_judge(struct store *store, const struct policy *policy, enum reputation_kind kind,
                 const char *name, time_t now)
{
	const struct policy_reputation *settings = reputation_policy_of(policy, kind, name);
	struct reputation_record rec;
	struct reputation_limits limits;
	struct reputation_counts counts;
	struct reputation_finding finding;
	struct buf err = BUF_INIT;
	enum reputation_state from;

	if (settings == NULL)
		return; /* a stream the policy no longer defines */
	reputation_limits_of(settings, &limits);
	if (reputation_store_get(store, kind, name, &rec, &err) < 0 ||
	    (rec.state != REPUTATION_STATE_PAUSED &&
	     reputation_store_window(store, kind, name, now, limits.window_hours, &rec, &counts,
	                             &err) < 0)) {
		log_warning(NULL, "reputation: %s %s not judged: %s", reputation_kind_name(kind),
		            name, buf_str(&err));
		buf_free(&err);
		return;
	}
	buf_free(&err);
	if (rec.state == REPUTATION_STATE_PAUSED)
		return;
	reputation_level(&counts, &limits, &finding);
	from = rec.state;
	rec.since = now;
	switch (reputation_next(rec.state, finding.level)) {
	case REPUTATION_DO_PAUSE:
		rec.state = REPUTATION_STATE_PAUSED;
		rec.resume_at = limits.auto_resume_seconds ? now + limits.auto_resume_seconds : 0;
		reason_of(&finding, &counts, rec.reason, sizeof(rec.reason));
		change(store, &rec, from, reputation_paused_type(kind), &counts, settings->window,
		       &finding);
		break;
	case REPUTATION_DO_WARN:
		rec.state = REPUTATION_STATE_WARNED;
		reason_of(&finding, &counts, rec.reason, sizeof(rec.reason));
		change(store, &rec, from, "ReputationWarning", &counts, settings->window, &finding);
		break;
	case REPUTATION_DO_REARM:
		rec.state = REPUTATION_STATE_OK;
		rec.reason[0] = '\0';
		change(store, &rec, from, NULL, NULL, NULL, NULL);
		log_info(NULL, "reputation: %s %s back under its warning limits",
		         reputation_kind_name(kind), name);
		break;
	case REPUTATION_NOTHING:
		break;
	}
}

/* ------------------------------------------------------------ auto_resume */

struct due {
	struct reputation_record *recs;
	size_t count;
	time_t now;
};

static void
collect_due(const struct reputation_record *rec, void *arg)
{
	struct due *d = arg;

	if (rec->resume_at != 0 && rec->resume_at <= d->now && d->count < 64)
		d->recs[d->count++] = *rec;
}

void
reputation_resume_due(struct store *store, time_t now)
{
	struct reputation_record recs[64];
	struct due d = { recs, 0, now };
	struct buf err = BUF_INIT;

	if (reputation_store_states(store, true, collect_due, &d, &err) < 0)
		log_warning(NULL, "reputation: pauses not read: %s", buf_str(&err));
	for (size_t i = 0; i < d.count; i++) {
		struct reputation_record *rec = &recs[i];
		char *body;

		rec->state = REPUTATION_STATE_OK;
		rec->since = now;
		rec->resume_at = 0;
		rec->reason[0] = '\0';
		body = reputation_note_body(rec, "auto_resume", NULL, NULL, NULL);
		buf_reset(&err);
		if (reputation_store_change(store, rec, REPUTATION_STATE_PAUSED, true,
		                            reputation_resumed_type(rec->kind), body, &err) < 0)
			log_warning(NULL, "reputation: %s %s not resumed: %s",
			            reputation_kind_name(rec->kind), rec->name, buf_str(&err));
		free(body);
	}
	buf_free(&err);
}

/* ------------------------------------------------------------ announcements */

struct announcer {
	struct spool *spool;
	const struct policy *policy;
};

static const char *
field(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

static void
log_note(const char *type, json_t *body, const char *event)
{
	const char *kind = json_object_get(body, "stream") ? "stream" : "domain";
	const char *name = field(body, json_object_get(body, "stream") ? "stream" : "fromDomain");
	const char *reason = field(body, "reason");
	bool warning = strcmp(type, "ReputationWarning") == 0 || strstr(type, "Paused") != NULL;

	log_msg(warning ? LOG_LEVEL_WARNING : LOG_LEVEL_NOTICE, NULL,
	        "reputation: %s %s=%s by=%s%s%s%s event=%s", type, kind, name, field(body, "by"),
	        *reason ? " reason=\"" : "", reason, *reason ? "\"" : "", event);
}

static bool
announce_one(const struct reputation_note *note, void *arg)
{
	struct announcer *a = arg;
	json_t *body = json_loads(note->body, 0, NULL), *event = json_object();
	char name[SPOOL_NAME_MAX] = "";
	char *text;
	size_t len;
	int rc;

	if (body == NULL)
		body = json_object(); /* unreadable: announce the type at least */
	json_object_set_new(event,
	                    a->policy->event_shape == EVENT_SHAPE_NOTIFICATION ? "notificationType"
	                                                                       : "eventType",
	                    json_string(note->type));
	json_object_set(event, "reputation", body);
	text = json_dumps(event, JSON_COMPACT);
	len = strlen(text);
	text = realloc(text, len + 2); /* one document per line, as every event */
	if (text == NULL)
		log_panic("out of memory");
	memcpy(text + len++, "\n", 2);
	rc = spool_write(a->spool, text, len, name);
	if (rc == 0)
		log_note(note->type, body, name);
	else
		log_warning(NULL, "reputation: %s event not written to the spool; retrying",
		            note->type);
	free(text);
	json_decref(event);
	json_decref(body);
	return rc == 0;
}

void
reputation_announce(struct store *store, struct spool *spool, const struct policy *policy)
{
	struct announcer a = { spool, policy };
	struct buf err = BUF_INIT;

	if (reputation_store_notes(store, announce_one, &a, &err) < 0)
		log_warning(NULL, "reputation: announcements not read: %s", buf_str(&err));
	buf_free(&err);
}
