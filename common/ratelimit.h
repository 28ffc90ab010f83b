/*
 * ratelimit - a token bucket and a rolling 24-hour counter, pure
 *
 * Neither reads a clock: every call takes "now" in milliseconds of a
 * monotonic clock, so tests drive them with a fake one and the caller
 * decides how they are shared (milter/limits.c keeps them in memory behind
 * a mutex).  Both work in two steps, asking and then taking, so a caller
 * can check several limits before it counts a message against any.
 *
 * The bucket holds up to burst tokens and gains rate tokens a second, in
 * thousandths so that no time is lost to rounding.  The day window counts
 * in 288 slots of five minutes: a message stops counting between 24 h and
 * 24 h 5 min after it was counted.
 */
#ifndef MW_RATELIMIT_H
#define MW_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define DAY_WINDOW_SLOTS   288
#define DAY_WINDOW_SLOT_MS (5 * 60 * 1000)

struct token_bucket {
	int64_t millitokens;
	int64_t last_ms;
	bool started; /* a bucket starts full */
};

struct day_window {
	uint32_t slots[DAY_WINDOW_SLOTS];
	int64_t newest; /* absolute slot number of the newest slot */
	uint64_t total; /* sum of slots */
};

/* Refill for the time passed; is there a whole token?  rate and burst at least 1. */
bool token_bucket_ready(struct token_bucket *bucket, long rate, long burst, int64_t now_ms);
/* Take the token token_bucket_ready() found. */
void token_bucket_take(struct token_bucket *bucket);

/* Forget what is older than 24 hours; how many are counted now. */
uint64_t day_window_count(struct day_window *window, int64_t now_ms);
/* Count one more, now. */
void day_window_add(struct day_window *window, int64_t now_ms);

#endif
