/*
 * limits - sending limits; see limits.h.
 *
 * One counter per stream and per AUTH user, found by name in a small table
 * behind one mutex: the critical section is a lookup, two checks and two
 * increments.  The limits themselves come from the message's pinned
 * policy, so a reload changes them for new messages while the counts go
 * on.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/ratelimit.h"
#include "common/xalloc.h"
#include "milter/limits.h"
#include "policy/streams.h"

struct limit_counter {
	char *kind; /* "stream" or "user" */
	char *name;
	struct token_bucket bucket;
	struct day_window day;
	uint64_t refused;
};

struct limits {
	pthread_mutex_t lock;
	struct limit_counter **counters;
	size_t count;
};

/* The limits that apply to a message, from the stream or the AUTH user. */
struct limit_owner {
	const char *kind, *name;
	long max_per_day, max_rate, max_recipients;
};

struct limits *
limits_new(void)
{
	struct limits *limits = xcalloc(1, sizeof(*limits));

	pthread_mutex_init(&limits->lock, NULL);
	return limits;
}

void
limits_free(struct limits *limits)
{
	if (limits == NULL)
		return;
	for (size_t i = 0; i < limits->count; i++) {
		free(limits->counters[i]->kind);
		free(limits->counters[i]->name);
		free(limits->counters[i]);
	}
	free(limits->counters);
	pthread_mutex_destroy(&limits->lock);
	free(limits);
}

static int64_t
monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Under the lock: the counter of kind:name, made on first use. */
static struct limit_counter *
counter_of(struct limits *limits, const char *kind, const char *name)
{
	struct limit_counter *c;

	for (size_t i = 0; i < limits->count; i++)
		if (strcmp(limits->counters[i]->kind, kind) == 0 &&
		    strcmp(limits->counters[i]->name, name) == 0)
			return limits->counters[i];
	c = xcalloc(1, sizeof(*c));
	c->kind = xstrdup(kind);
	c->name = xstrdup(name);
	limits->counters = xgrow(limits->counters, limits->count, sizeof(*limits->counters));
	limits->counters[limits->count++] = c;
	return c;
}

static void
count_refusal(struct limits *limits, const struct limit_owner *owner)
{
	pthread_mutex_lock(&limits->lock);
	counter_of(limits, owner->kind, owner->name)->refused++;
	pthread_mutex_unlock(&limits->lock);
}

uint64_t
limits_refused(struct limits *limits, const char *kind, const char *name)
{
	uint64_t refused;

	pthread_mutex_lock(&limits->lock);
	refused = counter_of(limits, kind, name)->refused;
	pthread_mutex_unlock(&limits->lock);
	return refused;
}

/* The message's stream and AUTH user, as far as they have limits; how many. */
static size_t
owners_of(const struct msg *msg, struct limit_owner out[2])
{
	const struct policy_stream *stream = policy_stream_named(msg->policy, msg->stream);
	const struct policy_user_limits *user = policy_user_limits(msg->policy, msg->auth_user);
	size_t n = 0;

	if (stream != NULL)
		out[n++] = (struct limit_owner){ "stream", stream->name, stream->max_per_day,
			                         stream->max_rate, stream->max_recipients };
	if (user != NULL)
		out[n++] = (struct limit_owner){ "user", msg->auth_user, user->max_per_day,
			                         user->max_rate, user->max_recipients };
	return n;
}

/* The tempfail of one limit: counted, logged with the queue ID (and the RCPT), replied. */
static sfsistat
refuse(SMFICTX *ctx, struct limits *limits, const struct msg *msg, const char *rcpt,
       const struct limit_owner *owner, const char *limit, long value, char *code, char *status,
       char *text)
{
	count_refusal(limits, owner);
	log_notice(msg->qid, "limit reached: %s %s %s=%ld%s%s; tempfail %s %s", owner->kind,
	           owner->name, limit, value, rcpt ? " rcpt=" : "", rcpt ? rcpt : "", code, status);
	smfi_setreply(ctx, code, status, text);
	return SMFIS_TEMPFAIL;
}

sfsistat
limits_rcpt(SMFICTX *ctx, struct limits *limits, const struct msg *msg, const char *rcpt)
{
	struct limit_owner owners[2];
	size_t n = owners_of(msg, owners);
	char text[400];

	for (size_t i = 0; i < n; i++) {
		const struct limit_owner *o = &owners[i];
		if (o->max_recipients == 0 || msg->rcpt_count < (size_t)o->max_recipients)
			continue;
		snprintf(text, sizeof(text),
		         "mailward: too many recipients: %s %s takes %ld per message; send the "
		         "others in another message",
		         o->kind, o->name, o->max_recipients);
		return refuse(ctx, limits, msg, rcpt, o, "max_recipients", o->max_recipients, "452",
		              "4.5.3", text);
	}
	return SMFIS_CONTINUE;
}

/* Under the lock: the first owner whose rate or day limit is reached, or NULL. */
static const struct limit_owner *
over_limit(struct limits *limits, const struct limit_owner *owners, size_t n, int64_t now,
           const char **limit)
{
	for (size_t i = 0; i < n; i++) {
		struct limit_counter *c = counter_of(limits, owners[i].kind, owners[i].name);
		if (owners[i].max_rate > 0 &&
		    !token_bucket_ready(&c->bucket, owners[i].max_rate, owners[i].max_rate, now)) {
			*limit = "max_rate";
			return &owners[i];
		}
		if (owners[i].max_per_day > 0 &&
		    day_window_count(&c->day, now) >= (uint64_t)owners[i].max_per_day) {
			*limit = "max_per_day";
			return &owners[i];
		}
	}
	return NULL;
}

/* Under the lock: the message counts against every owner's rate and day. */
static void
count_message(struct limits *limits, const struct limit_owner *owners, size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++) {
		struct limit_counter *c = counter_of(limits, owners[i].kind, owners[i].name);
		if (owners[i].max_rate > 0)
			token_bucket_take(&c->bucket);
		day_window_add(&c->day, now);
	}
}

sfsistat
limits_eoh(SMFICTX *ctx, struct limits *limits, const struct msg *msg)
{
	struct limit_owner owners[2];
	size_t n = owners_of(msg, owners);
	const struct limit_owner *over;
	const char *limit = NULL;
	char text[400];
	int64_t now = monotonic_ms();

	for (size_t i = 0; i < n; i++)
		if (owners[i].max_recipients > 0 &&
		    msg->rcpt_count > (size_t)owners[i].max_recipients) {
			snprintf(text, sizeof(text),
			         "mailward: too many recipients: %s %s takes %ld per message",
			         owners[i].kind, owners[i].name, owners[i].max_recipients);
			return refuse(ctx, limits, msg, NULL, &owners[i], "max_recipients",
			              owners[i].max_recipients, "452", "4.5.3", text);
		}
	pthread_mutex_lock(&limits->lock);
	over = over_limit(limits, owners, n, now, &limit);
	if (over == NULL)
		count_message(limits, owners, n, now);
	pthread_mutex_unlock(&limits->lock);
	if (over == NULL)
		return SMFIS_CONTINUE;
	if (strcmp(limit, "max_rate") == 0)
		snprintf(text, sizeof(text),
		         "mailward: %s %s is sending faster than %ld messages a second; try again "
		         "later",
		         over->kind, over->name, over->max_rate);
	else
		snprintf(
		    text, sizeof(text),
		    "mailward: %s %s has sent its %ld messages of the last 24 hours; try again "
		    "later",
		    over->kind, over->name, over->max_per_day);
	return refuse(ctx, limits, msg, NULL, over, limit,
	              strcmp(limit, "max_rate") == 0 ? over->max_rate : over->max_per_day, "451",
	              "4.7.1", text);
}
