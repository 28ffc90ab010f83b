/*
 * reputation - rates, thresholds and the pause decision; see reputation.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/reputation.h"

static const char *const state_names[] = {
	[REPUTATION_STATE_OK] = "ok",
	[REPUTATION_STATE_WARNED] = "warning",
	[REPUTATION_STATE_PAUSED] = "paused",
};

bool
reputation_parse_rate(const char *text, long *out)
{
	long whole = 0, frac = 0, digits = 0;
	const char *p = text;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (*p - '0');
		if (whole > 100)
			return false;
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++) {
			if (++digits > 3)
				return false;
			frac = frac * 10 + (*p - '0');
		}
		if (digits == 0)
			return false;
	}
	for (; digits < 3; digits++)
		frac *= 10;
	/* A bare number is allowed only for "0": "0.3" is too easily a fraction. */
	if (strcmp(p, "%") != 0 && !(*p == '\0' && whole == 0 && frac == 0))
		return false;
	*out = whole * 1000 + frac;
	return *out <= REPUTATION_RATE_SCALE;
}

bool
reputation_parse_duration(const char *text, long *seconds)
{
	long n = 0, unit;
	const char *p = text;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		n = n * 10 + (*p - '0');
		if (n > 10L * 365 * 86400)
			return false;
	}
	switch (*p) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	case '\0':
		unit = n == 0 ? 1 : 0;
		break;
	default:
		unit = 0;
		break;
	}
	if (unit == 0 || (*p != '\0' && p[1] != '\0'))
		return false;
	*seconds = n * unit;
	return *seconds <= 10L * 365 * 86400;
}

void
reputation_format_limit(long limit, char out[REPUTATION_RATE_TEXT])
{
	long whole = limit / 1000, frac = limit % 1000;

	if (frac % 10 == 0)
		snprintf(out, REPUTATION_RATE_TEXT, "%ld.%02ld%%", whole, frac / 10);
	else
		snprintf(out, REPUTATION_RATE_TEXT, "%ld.%03ld%%", whole, frac);
}

void
reputation_format_rate(int64_t count, int64_t sends, char out[REPUTATION_RATE_TEXT])
{
	if (sends <= 0)
		snprintf(out, REPUTATION_RATE_TEXT, "-");
	else
		snprintf(out, REPUTATION_RATE_TEXT, "%.2f%%",
		         100.0 * (double)count / (double)sends);
}

double
reputation_rate(int64_t count, int64_t sends)
{
	return sends > 0 ? (double)count / (double)sends : 0.0;
}

/* count / sends > limit, exactly; a limit of 0 is off. */
static bool
over(int64_t count, int64_t sends, long limit)
{
	return limit > 0 && count * REPUTATION_RATE_SCALE > (int64_t)limit * sends;
}

static bool
judge(const struct reputation_counts *c, long complaint_limit, long bounce_limit,
      enum reputation_level level, struct reputation_finding *out)
{
	if (over(c->complaints, c->sends, complaint_limit)) {
		*out = (struct reputation_finding){ level, "complaint", c->complaints,
			                            complaint_limit };
		return true;
	}
	if (over(c->bounces, c->sends, bounce_limit)) {
		*out = (struct reputation_finding){ level, "bounce", c->bounces, bounce_limit };
		return true;
	}
	return false;
}

void
reputation_level(const struct reputation_counts *counts, const struct reputation_limits *limits,
                 struct reputation_finding *out)
{
	*out = (struct reputation_finding){ REPUTATION_FINE, NULL, 0, 0 };
	if (counts->sends <= 0 || counts->sends < limits->min_sends) {
		out->level = REPUTATION_TOO_FEW;
		return;
	}
	if (judge(counts, limits->pause_complaint, limits->pause_bounce, REPUTATION_PAUSE, out))
		return;
	judge(counts, limits->warn_complaint, limits->warn_bounce, REPUTATION_WARN, out);
}

enum reputation_action
reputation_next(enum reputation_state state, enum reputation_level level)
{
	if (state == REPUTATION_STATE_PAUSED)
		return REPUTATION_NOTHING; /* only a resume ends a pause */
	if (level == REPUTATION_PAUSE)
		return REPUTATION_DO_PAUSE;
	if (level == REPUTATION_WARN)
		return state == REPUTATION_STATE_OK ? REPUTATION_DO_WARN : REPUTATION_NOTHING;
	if (level == REPUTATION_FINE && state == REPUTATION_STATE_WARNED)
		return REPUTATION_DO_REARM;
	return REPUTATION_NOTHING;
}

const char *
reputation_state_name(enum reputation_state state)
{
	return (unsigned)state < sizeof(state_names) / sizeof(state_names[0]) ? state_names[state]
	                                                                      : "ok";
}

bool
reputation_state_parse(const char *word, enum reputation_state *out)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (strcmp(word, state_names[i]) == 0) {
			*out = (enum reputation_state)i;
			return true;
		}
	}
	return false;
}
