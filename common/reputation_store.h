/*
 * reputation_store - reputation counters, states and announcements in the store
 *
 * Counters are hourly buckets, one row per (kind, name, hour) with hour =
 * unix time / 3600: a window of N hours is the sum of the current hour's
 * bucket and the N - 1 before it (so it covers between N - 1 and N hours),
 * and buckets older than the longest window (7 days) are pruned.
 *
 * Each stream or From domain with something to remember has a state row:
 * ok, warning (announced once, until the rates fall back under the
 * warning limits) or paused (with the reason, and when it resumes by
 * itself, 0 for never).  A resume also records a baseline (the current
 * hour's bucket as it stood), so the rates judged after a resume count
 * only what was sent and reported after it, and a stream is not paused
 * again at once for the complaints that paused it.
 *
 * A change of state is written with an announcement row (an outbox) in
 * the same transaction: the daemon turns announcements into events and
 * log lines, whoever made the change (the daemon itself or "mailward
 * stream" in another process, which does not write to the spool).
 */
#ifndef MW_REPUTATION_STORE_H
#define MW_REPUTATION_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "common/reputation.h"
#include "common/store.h"

#define REPUTATION_NAME_MAX   255
#define REPUTATION_REASON_MAX 200
#define REPUTATION_KEEP_HOURS (7 * 24 + 1)

enum reputation_kind {
	REPUTATION_STREAM,
	REPUTATION_DOMAIN, /* a From domain */
};

struct reputation_increment {
	enum reputation_kind kind;
	const char *name;
	int64_t hour;
	struct reputation_counts counts;
};

struct reputation_record {
	enum reputation_kind kind;
	char name[REPUTATION_NAME_MAX + 1];
	enum reputation_state state;
	time_t since;     /* of the state */
	time_t resume_at; /* paused: when it resumes by itself; 0 never */
	char reason[REPUTATION_REASON_MAX + 1];
	int64_t base_hour; /* the hour of the last resume, 0 for none */
	struct reputation_counts base;
};

/* An announcement: an event type and its "reputation" object (JSON). */
struct reputation_note {
	int64_t id;
	const char *type;
	const char *body;
};

const char *reputation_kind_name(enum reputation_kind kind);
bool reputation_kind_parse(const char *word, enum reputation_kind *out);
int64_t reputation_hour(time_t t);

/* Add increments in one transaction; 0, or -1 with the reason in err. */
int reputation_store_add(struct store *store, const struct reputation_increment *rows, size_t count,
                         struct buf *err);
/* Sums of the window of hours ending with now's (baseline of rec subtracted; rec may be NULL). */
int reputation_store_window(struct store *store, enum reputation_kind kind, const char *name,
                            time_t now, long hours, const struct reputation_record *rec,
                            struct reputation_counts *out, struct buf *err);
/* The state row: 1 found, 0 none (*out is an ok state), -1 error. */
int reputation_store_get(struct store *store, enum reputation_kind kind, const char *name,
                         struct reputation_record *out, struct buf *err);
/*
 * Write rec as the new state if the stored one (ok when there is none) is
 * still expect, with an announcement (type NULL: none); rebase: take the
 * current hour's bucket as the baseline.  1 written, 0 the state had
 * changed meanwhile, -1 error.
 */
int reputation_store_change(struct store *store, struct reputation_record *rec,
                            enum reputation_state expect, bool rebase, const char *type,
                            const char *body, struct buf *err);

typedef void (*reputation_record_fn)(const struct reputation_record *rec, void *arg);
typedef void (*reputation_name_fn)(enum reputation_kind kind, const char *name, void *arg);
typedef bool (*reputation_note_fn)(const struct reputation_note *note, void *arg);

/* Every state row (paused_only: the paused ones); 0 or -1. */
int reputation_store_states(struct store *store, bool paused_only, reputation_record_fn fn,
                            void *arg, struct buf *err);
/* Every name with a bucket since first_hour; 0 or -1. */
int reputation_store_names(struct store *store, int64_t first_hour, reputation_name_fn fn,
                           void *arg, struct buf *err);
/* Hand each announcement to fn in order; those it returns true for are deleted. */
int reputation_store_notes(struct store *store, reputation_note_fn fn, void *arg, struct buf *err);
/* Drop buckets before first_hour. */
int reputation_store_prune(struct store *store, int64_t first_hour, struct buf *err);

#endif
