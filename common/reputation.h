/*
 * reputation - rates, thresholds and the pause decision (pure functions)
 *
 * A sending stream and a From domain each have a reputation: sends,
 * permanent bounces and complaints over a sliding window, counted per
 * recipient.  The bounce rate is bounces / sends, the complaint rate
 * complaints / sends (as SES computes them).  The policy writes rates as
 * percent strings ("0.3%", at most three decimals) and durations as a
 * number and a unit ("24h", "7d", "90s"); this module reads them, and
 * compares without floating point: a rate is over a limit when
 * count * 100000 > limit * sends, the limit in thousandths of a percent.
 *
 * reputation_level() says where counts stand against limits (too few
 * sends to judge, fine, warning, pause) and which rate decided it;
 * reputation_next() turns that and the stored state into what to do, so
 * a warning is announced once per crossing and a paused stream stays
 * paused until it is resumed.
 */
#ifndef MW_REPUTATION_H
#define MW_REPUTATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPUTATION_RATE_SCALE 100000L /* a rate limit is in 1/100000 (0.001 %) */
#define REPUTATION_RATE_TEXT  24

/* Sends, permanent bounces and complaints (each per recipient). */
struct reputation_counts {
	int64_t sends;
	int64_t bounces;
	int64_t complaints;
};

/* Limits in 1/100000; 0 turns that limit off. */
struct reputation_limits {
	long warn_complaint;
	long warn_bounce;
	long pause_complaint;
	long pause_bounce;
	long min_sends;
	long window_hours;
	long auto_resume_seconds; /* 0: only an administrator resumes */
};

enum reputation_level {
	REPUTATION_TOO_FEW, /* fewer sends than min_sends: nothing is judged */
	REPUTATION_FINE,
	REPUTATION_WARN,
	REPUTATION_PAUSE,
};

/* What decided a level: the rate, the limit it passed, which metric. */
struct reputation_finding {
	enum reputation_level level;
	const char *metric; /* "complaint" or "bounce"; NULL when fine */
	int64_t count;      /* complaints or bounces */
	long limit;         /* in 1/100000 */
};

enum reputation_state {
	REPUTATION_STATE_OK,
	REPUTATION_STATE_WARNED,
	REPUTATION_STATE_PAUSED,
};

enum reputation_action {
	REPUTATION_NOTHING,
	REPUTATION_DO_WARN,  /* announce a warning, remember it */
	REPUTATION_DO_PAUSE, /* pause, announce it */
	REPUTATION_DO_REARM, /* back under the warning limits: the next crossing warns again */
};

/* "0.3%" (or "0", "0%") into 1/100000; false for anything else or over 100%. */
bool reputation_parse_rate(const char *text, long *out);
/* "90s", "30m", "24h", "7d" (or "0") into seconds; false for anything else. */
bool reputation_parse_duration(const char *text, long *seconds);
/* A limit as text: 300 -> "0.30%", 5 -> "0.005%". */
void reputation_format_limit(long limit, char out[REPUTATION_RATE_TEXT]);
/* count / sends as a percentage with two decimals ("0.42%"); "-" without sends. */
void reputation_format_rate(int64_t count, int64_t sends, char out[REPUTATION_RATE_TEXT]);
/* count / sends as a fraction (the rate events carry); 0 without sends. */
double reputation_rate(int64_t count, int64_t sends);

void reputation_level(const struct reputation_counts *counts,
                      const struct reputation_limits *limits, struct reputation_finding *out);
enum reputation_action reputation_next(enum reputation_state state, enum reputation_level level);

const char *reputation_state_name(enum reputation_state state);
bool reputation_state_parse(const char *word, enum reputation_state *out);

#endif
