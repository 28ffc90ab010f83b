/*
 * metrics - counters, gauges and histograms with labels, in the Prometheus
 * text exposition format (version 0.0.4)
 *
 * A registry is made once from a table of families (name, help, type,
 * label names, histogram buckets) and handed to every thread; updating a
 * figure is a lookup of its label set and an atomic add, no lock.  A label
 * set is found in an open-addressed table whose slots, once filled, never
 * move or go away: a new set claims an empty slot with a compare-and-swap,
 * a reader passes over slots still being filled.
 *
 * Cardinality is bounded twice.  Callers pass label values from closed
 * sets (enum names, names the policy defines, "other" for the rest); and
 * each family holds at most max_series label sets: past that, a new set
 * is counted under the set whose every value is "other", so no sender can
 * grow the registry.  A value longer than METRICS_VALUE_MAX is "other"
 * too.
 *
 * metrics_render() writes the whole registry: "# HELP" and "# TYPE" lines
 * per family, then its samples sorted by label values; a histogram as
 * NAME_bucket{...,le="B"} (cumulative, ending with le="+Inf"), NAME_sum
 * and NAME_count.  The writer functions below it are pure, so figures a
 * caller computes at scrape time (files in a directory, uptime) come out
 * in the same format, and tests check the format alone.
 */
#ifndef MW_METRICS_H
#define MW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define METRICS_MAX_LABELS 4
#define METRICS_VALUE_MAX  256
#define METRICS_OTHER      "other"

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

struct metrics_family {
	const char *name; /* full name: counters end in _total */
	const char *help;
	enum metrics_type type;
	const char *labels[METRICS_MAX_LABELS]; /* names; the first NULL ends them */
	const double *buckets;                  /* histograms: upper bounds, ascending */
	size_t bucket_count;                    /* without +Inf, which is implied */
	size_t max_series;                      /* label sets kept; 0: 256 */
};

struct metrics;

/* A registry of these families (the table must outlive it). */
struct metrics *metrics_new(const struct metrics_family *families, size_t count);
void metrics_free(struct metrics *m);

/*
 * Update family number family for the label set values (one value per
 * label name; NULL for a family without labels).  A counter only grows;
 * metrics_set() is for gauges.
 */
void metrics_add(struct metrics *m, size_t family, const char *const *values, uint64_t n);
void metrics_gauge_add(struct metrics *m, size_t family, const char *const *values, int64_t delta);
void metrics_set(struct metrics *m, size_t family, const char *const *values, int64_t value);
void metrics_observe(struct metrics *m, size_t family, const char *const *values, double value);

/* Current value of one counter or gauge label set (0 if never touched); tests. */
int64_t metrics_value(struct metrics *m, size_t family, const char *const *values);

/* Every family of the registry, appended to out. */
void metrics_render(struct metrics *m, struct buf *out);

/* ---- the writer: pure functions of the exposition format */

struct metrics_labels {
	const char *const *names;
	const char *const *values;
	size_t count;
};

/* "# HELP NAME help" (backslash and newline escaped) and "# TYPE NAME type". */
void metrics_write_header(struct buf *out, const char *name, const char *help,
                          enum metrics_type type);
/*
 * One sample line: NAME{l1="v1",...} VALUE.  Label values escape
 * backslash, double quote and newline; extra_name/extra_value (e.g. "le")
 * follow the labels when extra_name is not NULL.
 */
void metrics_write_sample(struct buf *out, const char *name, const struct metrics_labels *labels,
                          const char *extra_name, const char *extra_value, double value);
/* A value as the format spells it: integers without a point, +Inf, -Inf, NaN. */
void metrics_format_value(double value, char *text, size_t len);
/* "type" word of the TYPE line. */
const char *metrics_type_name(enum metrics_type type);

#endif
