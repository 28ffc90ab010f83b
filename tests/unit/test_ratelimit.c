/*
 * test_ratelimit - the token bucket and the rolling day window on a fake
 * clock, table-driven
 *
 * Each case is a script of (time, expected answer) steps: a message is
 * taken whenever the limit allows it.  The bucket starts full, refills at
 * its rate without losing fractions, never above its burst; the day
 * window lets a message count for 24 hours (to the five-minute slot) and
 * forgets everything after a long silence.
 */
#include "config.h"

#include <stdio.h>

#include "common/ratelimit.h"
#include "tests/unit/unit.h"

struct step {
	int64_t at_ms;
	bool allowed;
};

struct bucket_case {
	const char *what;
	long rate, burst;
	struct step steps[12];
	size_t count;
};

#define S(...) { __VA_ARGS__ }, sizeof((struct step[]){ __VA_ARGS__ }) / sizeof(struct step)

static const struct bucket_case buckets[] = {
	{ "one a second: the first passes, the second waits a second", 1, 1,
	  S({ 1000, true }, { 1000, false }, { 1999, false }, { 2000, true }, { 2500, false }) },
	{ "a burst of three, then one every 200 ms at five a second", 5, 3,
	  S({ 0, true }, { 0, true }, { 0, true }, { 0, false }, { 199, false }, { 200, true },
	    { 200, false }, { 400, true }) },
	{ "fractions add up: three a second over 1/3 s steps", 3, 1,
	  S({ 10000, true }, { 10333, false }, { 10334, true }, { 10667, false },
	    { 10668, true }) },
	{ "a long pause refills to the burst, not beyond", 2, 2,
	  S({ 0, true }, { 0, true }, { 60000, true }, { 60000, true }, { 60000, false }) },
	{ "time going backwards takes nothing out", 1, 1,
	  S({ 5000, true }, { 4000, false }, { 5999, false }, { 6000, true }) },
};

static void
token_bucket_follows_rate_and_burst(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(buckets); i++) {
		const struct bucket_case *c = &buckets[i];
		struct token_bucket bucket = { 0 };
		for (size_t k = 0; k < c->count; k++) {
			bool got =
			    token_bucket_ready(&bucket, c->rate, c->burst, c->steps[k].at_ms);
			if (got != c->steps[k].allowed)
				fail_msg("%s: step %zu at %lld ms: expected %s", c->what, k + 1,
				         (long long)c->steps[k].at_ms,
				         c->steps[k].allowed ? "allowed" : "refused");
			if (got)
				token_bucket_take(&bucket);
		}
	}
}

#define MIN  (60 * 1000LL)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
#define T0   (1000 * DAY) /* a monotonic clock far from zero */

struct window_case {
	const char *what;
	uint64_t max;
	struct step steps[12];
	size_t count;
};

static const struct window_case windows[] = {
	{ "two a day: the third waits until the first is 24 h old", 2,
	  S({ T0, true }, { T0 + HOUR, true }, { T0 + 2 * HOUR, false }, { T0 + DAY - MIN, false },
	    { T0 + DAY + 5 * MIN, true }, { T0 + DAY + 10 * MIN, false },
	    { T0 + DAY + HOUR + 5 * MIN, true }) },
	{ "a count survives 24 h less a slot, never 24 h and a slot", 1,
	  S({ T0, true }, { T0 + DAY - 5 * MIN, false }, { T0 + DAY + 5 * MIN, true }) },
	{ "a silence of weeks forgets everything", 3,
	  S({ T0, true }, { T0, true }, { T0, true }, { T0, false }, { T0 + 30 * DAY, true },
	    { T0 + 30 * DAY, true }, { T0 + 30 * DAY, true }, { T0 + 30 * DAY, false }) },
};

static void
day_window_counts_the_last_24_hours(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(windows); i++) {
		const struct window_case *c = &windows[i];
		static struct day_window window;
		window = (struct day_window){ 0 };
		for (size_t k = 0; k < c->count; k++) {
			bool got = day_window_count(&window, c->steps[k].at_ms) < c->max;
			if (got != c->steps[k].allowed)
				fail_msg("%s: step %zu (+%lld min): expected %s", c->what, k + 1,
				         (long long)((c->steps[k].at_ms - T0) / MIN),
				         c->steps[k].allowed ? "allowed" : "refused");
			if (got)
				day_window_add(&window, c->steps[k].at_ms);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_bucket_follows_rate_and_burst),
		cmocka_unit_test(day_window_counts_the_last_24_hours),
	};
	return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
