/*
 * ratelimit - token bucket and rolling day counter; see ratelimit.h.
 */
#include "config.h"

#include "common/ratelimit.h"

bool
token_bucket_ready(struct token_bucket *bucket, long rate, long burst, int64_t now_ms)
{
	int64_t capacity = (int64_t)(burst > 0 ? burst : 1) * 1000;

	if (!bucket->started || bucket->millitokens > capacity) {
		bucket->millitokens = capacity; /* a new bucket, or a smaller burst since */
		bucket->started = true;
	} else if (now_ms > bucket->last_ms) {
		/* rate tokens a second are rate thousandths a millisecond */
		int64_t gained = (now_ms - bucket->last_ms) * (int64_t)(rate > 0 ? rate : 1);
		bucket->millitokens = gained >= capacity - bucket->millitokens
		                          ? capacity
		                          : bucket->millitokens + gained;
	}
	if (now_ms > bucket->last_ms)
		bucket->last_ms = now_ms;
	return bucket->millitokens >= 1000;
}

void
token_bucket_take(struct token_bucket *bucket)
{
	bucket->millitokens -= 1000;
}

/* Move the window up to now, emptying the slots that fall out of it. */
static void
day_window_advance(struct day_window *window, int64_t now_ms)
{
	int64_t now_slot = now_ms / DAY_WINDOW_SLOT_MS;
	int64_t steps = now_slot - window->newest;

	if (steps <= 0)
		return;
	if (steps > DAY_WINDOW_SLOTS)
		steps = DAY_WINDOW_SLOTS;
	for (int64_t s = now_slot - steps + 1; s <= now_slot; s++) {
		uint32_t *slot = &window->slots[s % DAY_WINDOW_SLOTS];
		window->total -= *slot;
		*slot = 0;
	}
	window->newest = now_slot;
}

uint64_t
day_window_count(struct day_window *window, int64_t now_ms)
{
	day_window_advance(window, now_ms);
	return window->total;
}

void
day_window_add(struct day_window *window, int64_t now_ms)
{
	day_window_advance(window, now_ms);
	window->slots[window->newest % DAY_WINDOW_SLOTS]++;
	window->total++;
}
