/*
 * reputation - counts in memory, the writer thread, the pause gate; see
 * reputation.h.  Judging and announcing are in reputation_judge.c.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "common/deadline.h"
#include "common/xalloc.h"
#include "milter/reputation.h"
#include "milter/reputation_impl.h"
#include "milter/services.h"
#include "milter/verdict.h"

#define FLUSH_EVERY_MS  1000 /* also the most counts a crash loses */
#define PENDING_MAX     10000
#define PAUSED_CACHE_MS 1000
#define PRUNE_EVERY     3600 /* seconds */
#define JUDGE_ALL_EVERY 300  /* seconds */

struct pending {
	enum reputation_kind kind;
	char *name;
	struct reputation_counts counts;
};

struct paused {
	enum reputation_kind kind;
	char *name;
	char *reason;
	time_t resume_at;
};

struct reputation {
	struct store *store;
	struct spool *spool;
	pthread_t writer;

	pthread_mutex_t lock; /* pending, dropped, stopping */
	pthread_cond_t wake;
	struct pending *pending;
	size_t pending_count;
	unsigned long dropped;
	bool stopping;

	pthread_mutex_t cache_lock; /* the paused set */
	struct paused *paused;
	size_t paused_count;
	struct timespec paused_loaded;
	bool paused_valid;
	bool paused_unknown;    /* the last read failed: the set is the last one read */
	char paused_error[200]; /* ... and why */
};

/* ------------------------------------------------------------ counting */

/* The pending totals of a name (lock held); NULL when the table is full. */
static struct pending *
pending_slot(struct reputation *rep, enum reputation_kind kind, const char *name)
{
	for (size_t i = 0; i < rep->pending_count; i++)
		if (rep->pending[i].kind == kind && strcmp(rep->pending[i].name, name) == 0)
			return &rep->pending[i];
	if (rep->pending_count == PENDING_MAX)
		return NULL;
	rep->pending[rep->pending_count] = (struct pending){ .kind = kind, .name = xstrdup(name) };
	return &rep->pending[rep->pending_count++];
}

static void
add_to(struct reputation *rep, enum reputation_kind kind, const char *name,
       const struct reputation_counts *add)
{
	struct pending *p;

	if (name == NULL || *name == '\0' || strlen(name) > REPUTATION_NAME_MAX)
		return;
	if ((p = pending_slot(rep, kind, name)) == NULL) {
		rep->dropped++;
		return;
	}
	p->counts.sends += add->sends;
	p->counts.bounces += add->bounces;
	p->counts.complaints += add->complaints;
}

void
reputation_count(struct reputation *rep, const char *stream, const char *from_domain,
                 const struct reputation_counts *add)
{
	char domain[REPUTATION_NAME_MAX + 1] = "";

	if (rep == NULL)
		return;
	for (size_t i = 0; from_domain != NULL && from_domain[i] && i < REPUTATION_NAME_MAX; i++)
		domain[i] = (char)tolower((unsigned char)from_domain[i]);
	pthread_mutex_lock(&rep->lock);
	add_to(rep, REPUTATION_STREAM, stream, add);
	add_to(rep, REPUTATION_DOMAIN, domain, add);
	pthread_mutex_unlock(&rep->lock);
}

/* ------------------------------------------------------------ the writer */

static void
write_counts(struct reputation *rep, struct pending *batch, size_t n, time_t now)
{
	struct reputation_increment *rows = xcalloc(n + 1, sizeof(*rows));
	struct buf err = BUF_INIT;

	for (size_t i = 0; i < n; i++)
		rows[i] = (struct reputation_increment){ batch[i].kind, batch[i].name,
			                                 reputation_hour(now), batch[i].counts };
	if (reputation_store_add(rep->store, rows, n, &err) < 0)
		log_warning(NULL, "reputation: counts of %zu streams and domains lost: %s", n,
		            buf_str(&err));
	buf_free(&err);
	free(rows);
}

struct names {
	struct pending *items;
	size_t count;
};

static void
name_add(enum reputation_kind kind, const char *name, void *arg)
{
	struct names *names = arg;

	names->items = xgrow(names->items, names->count, sizeof(*names->items));
	names->items[names->count++] = (struct pending){ .kind = kind, .name = xstrdup(name) };
}

/*
 * Now and then judge everything counted in the last week, not only what
 * was counted just now: rates move as old hours leave the window (sends
 * leave before the complaints about them do), and a warning re-arms when
 * they fall back.
 */
static void
judge_all(struct reputation *rep, const struct policy *policy, time_t now)
{
	struct names names = { 0 };
	struct buf err = BUF_INIT;

	if (reputation_store_names(rep->store, reputation_hour(now) - REPUTATION_KEEP_HOURS,
	                           name_add, &names, &err) < 0)
		log_warning(NULL, "reputation: names not read: %s", buf_str(&err));
	for (size_t i = 0; i < names.count; i++) {
		reputation_judge(rep->store, policy, names.items[i].kind, names.items[i].name, now);
		free(names.items[i].name);
	}
	free(names.items);
	buf_free(&err);
}

/* Write, judge what was counted, resume what is due, announce. */
static void
tick(struct reputation *rep, struct pending *batch, size_t n, time_t now, time_t *pruned,
     time_t *judged)
{
	struct policy *policy = policy_acquire();
	struct buf err = BUF_INIT;

	if (n > 0)
		write_counts(rep, batch, n, now);
	for (size_t i = 0; policy != NULL && i < n; i++)
		reputation_judge(rep->store, policy, batch[i].kind, batch[i].name, now);
	if (policy != NULL && now - *judged >= JUDGE_ALL_EVERY) {
		judge_all(rep, policy, now);
		*judged = now;
	}
	reputation_resume_due(rep->store, now);
	if (policy != NULL)
		reputation_announce(rep->store, rep->spool, policy);
	if (now - *pruned >= PRUNE_EVERY) {
		if (reputation_store_prune(rep->store, reputation_hour(now) - REPUTATION_KEEP_HOURS,
		                           &err) < 0)
			log_warning(NULL, "reputation: old counters not pruned: %s", buf_str(&err));
		*pruned = now;
	}
	for (size_t i = 0; i < n; i++)
		free(batch[i].name);
	buf_free(&err);
	if (policy != NULL)
		policy_release(policy);
}

static void *
writer_main(void *arg)
{
	struct reputation *rep = arg;
	struct pending *batch = xcalloc(PENDING_MAX, sizeof(*batch));
	struct timespec until;
	time_t pruned = 0, judged = time(NULL);
	bool last = false;

	pthread_mutex_lock(&rep->lock);
	while (!last) {
		deadline_after_ms(&until, FLUSH_EVERY_MS);
		while (!rep->stopping &&
		       pthread_cond_timedwait(&rep->wake, &rep->lock, &until) == 0)
			;
		last = rep->stopping;
		size_t n = rep->pending_count;
		memcpy(batch, rep->pending, n * sizeof(*batch));
		rep->pending_count = 0;
		if (rep->dropped > 0)
			log_warning(NULL, "reputation: too many names at once; %lu counts dropped",
			            rep->dropped);
		rep->dropped = 0;
		pthread_mutex_unlock(&rep->lock);
		tick(rep, batch, n, time(NULL), &pruned, &judged);
		pthread_mutex_lock(&rep->lock);
	}
	pthread_mutex_unlock(&rep->lock);
	free(batch);
	return NULL;
}

struct reputation *
reputation_start(struct store *store, struct spool *spool)
{
	struct reputation *rep = xcalloc(1, sizeof(*rep));

	rep->store = store;
	rep->spool = spool;
	rep->pending = xcalloc(PENDING_MAX, sizeof(*rep->pending));
	pthread_mutex_init(&rep->lock, NULL);
	pthread_mutex_init(&rep->cache_lock, NULL);
	pthread_cond_init(&rep->wake, NULL);
	pthread_create(&rep->writer, NULL, writer_main, rep);
	return rep;
}

static void
paused_free(struct paused *paused, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(paused[i].name);
		free(paused[i].reason);
	}
	free(paused);
}

static void
paused_clear(struct reputation *rep)
{
	paused_free(rep->paused, rep->paused_count);
	rep->paused = NULL;
	rep->paused_count = 0;
}

void
reputation_stop(struct reputation *rep)
{
	if (rep == NULL)
		return;
	pthread_mutex_lock(&rep->lock);
	rep->stopping = true;
	pthread_cond_signal(&rep->wake);
	pthread_mutex_unlock(&rep->lock);
	pthread_join(rep->writer, NULL);
	paused_clear(rep);
	pthread_mutex_destroy(&rep->lock);
	pthread_mutex_destroy(&rep->cache_lock);
	pthread_cond_destroy(&rep->wake);
	free(rep->pending);
	free(rep);
}

/* ------------------------------------------------------------ the gate */

static void
paused_add(const struct reputation_record *rec, void *arg)
{
	struct reputation *rep = arg;

	rep->paused = xgrow(rep->paused, rep->paused_count, sizeof(*rep->paused));
	rep->paused[rep->paused_count++] =
	    (struct paused){ rec->kind, xstrdup(rec->name), xstrdup(rec->reason), rec->resume_at };
}

static long
ms_since(const struct timespec *then)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - then->tv_sec) * 1000L + (now.tv_nsec - then->tv_nsec) / 1000000L;
}

/*
 * Re-read the paused set when it is older than a second (cache lock held).
 * A failed read (the store on Redis, Redis down) keeps the set read last
 * and marks it unknown: a temporary failure must not read as "nothing is
 * paused".
 */
static void
paused_refresh(struct reputation *rep)
{
	struct paused *last = rep->paused;
	size_t last_count = rep->paused_count;
	struct buf err = BUF_INIT;

	if (rep->paused_valid && ms_since(&rep->paused_loaded) < PAUSED_CACHE_MS)
		return;
	rep->paused = NULL;
	rep->paused_count = 0;
	if (reputation_store_states(rep->store, true, paused_add, rep, &err) < 0) {
		if (!rep->paused_unknown)
			log_warning(NULL, "reputation: paused streams not read: %s", buf_str(&err));
		paused_clear(rep);
		rep->paused = last;
		rep->paused_count = last_count;
		rep->paused_unknown = true;
		snprintf(rep->paused_error, sizeof(rep->paused_error), "%s", buf_str(&err));
	} else {
		paused_free(last, last_count);
		rep->paused_unknown = false;
	}
	clock_gettime(CLOCK_MONOTONIC, &rep->paused_loaded);
	rep->paused_valid = true;
	buf_free(&err);
}

int
reputation_paused(struct reputation *rep, enum reputation_kind kind, const char *name, char *why,
                  size_t whylen)
{
	int found = 0;
	time_t now = time(NULL);

	if (rep == NULL || name == NULL)
		return 0;
	pthread_mutex_lock(&rep->cache_lock);
	paused_refresh(rep);
	for (size_t i = 0; i < rep->paused_count && !found; i++) {
		const struct paused *p = &rep->paused[i];
		/* A pause past its auto_resume time is over, even before the writer says so. */
		if (p->kind == kind && strcasecmp(p->name, name) == 0 &&
		    (p->resume_at == 0 || p->resume_at > now)) {
			snprintf(why, whylen, "%s", p->reason);
			found = 1;
		}
	}
	if (!found && rep->paused_unknown) {
		snprintf(why, whylen, "%s", rep->paused_error);
		found = -1;
	}
	pthread_mutex_unlock(&rep->cache_lock);
	return found;
}

/* 451 4.7.1 with the reason; '%' doubled: Sendmail formats the text, Postfix un-doubles it. */
static sfsistat
tempfail(SMFICTX *ctx, struct msg *msg, const char *what, const char *name, const char *why)
{
	char text[400], escaped[800];
	size_t j = 0;

	snprintf(text, sizeof(text), "mailward: %s %s is paused (%s)", what, name, why);
	for (size_t i = 0; text[i] && j + 2 < sizeof(escaped); i++) {
		if (text[i] == '%')
			escaped[j++] = '%';
		escaped[j++] = text[i];
	}
	escaped[j] = '\0';
	log_notice(msg->qid, "paused %s=%s reason=\"%s\"; tempfailed",
	           strcmp(what, "From domain") == 0 ? "from_domain" : "stream", name, why);
	smfi_setreply(ctx, "451", "4.7.1", escaped);
	return SMFIS_TEMPFAIL;
}

sfsistat
reputation_eoh(SMFICTX *ctx, const struct services *svc, struct msg *msg)
{
	char why[REPUTATION_REASON_MAX + 1];
	char *domain;
	sfsistat verdict = SMFIS_CONTINUE;
	int paused = 0;

	if (msg->stream != NULL && (paused = reputation_paused(svc->reputation, REPUTATION_STREAM,
	                                                       msg->stream, why, sizeof(why))) > 0)
		return tempfail(ctx, msg, "sending stream", msg->stream, why);
	domain = first_address_domain(msg->common[COMMON_FROM]);
	if (paused == 0 && domain != NULL &&
	    (paused = reputation_paused(svc->reputation, REPUTATION_DOMAIN, domain, why,
	                                sizeof(why))) > 0)
		verdict = tempfail(ctx, msg, "From domain", domain, why);
	free(domain);
	if (paused < 0) /* not known to be paused, and the store cannot say */
		verdict = verdict_on_failure(ctx, msg->policy->on_store_unavailable, msg->qid,
		                             "pause state unavailable", why);
	return verdict;
}
