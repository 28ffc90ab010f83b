/*
 * test_reputation - rates, limits and the pause decision; reputation rows
 *
 * The policy's rate and duration words read as intended and odd ones are
 * refused; rates compare exactly at the limit (over, not at, crosses it);
 * too few sends judge nothing; a warning is announced once per crossing
 * and re-armed under the limits; a pause holds until resumed.  In the
 * store: hourly buckets sum into a window, a resume's baseline leaves out
 * what came before it, a change is refused when the state moved, and
 * announcements come back in order until taken.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/reputation.h"
#include "common/reputation_store.h"
#include "tests/unit/unit.h"

static void
rates_parse_as_percentages(void **state)
{
	static const struct {
		const char *text;
		bool ok;
		long value;
	} cases[] = {
		{ "0.3%", true, 300 },  { "0.1%", true, 100 },   { "2%", true, 2000 },
		{ "5%", true, 5000 },   { "0.005%", true, 5 },   { "100%", true, 100000 },
		{ "0", true, 0 },       { "0%", true, 0 },       { "12.25%", true, 12250 },
		{ "0.3", false, 0 },    { "0.0001%", false, 0 }, { "101%", false, 0 },
		{ "100.5%", false, 0 }, { "-1%", false, 0 },     { "%", false, 0 },
		{ "1.%", false, 0 },    { "1%%", false, 0 },     { "", false, 0 },
		{ " 1%", false, 0 },    { "1 %", false, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		long value = -1;
		bool ok = reputation_parse_rate(cases[i].text, &value);
		if (ok != cases[i].ok || (ok && value != cases[i].value))
			fail_msg("\"%s\": ok %d value %ld", cases[i].text, ok, value);
	}
}

static void
durations_parse_with_units(void **state)
{
	static const struct {
		const char *text;
		bool ok;
		long seconds;
	} cases[] = {
		{ "24h", true, 86400 }, { "7d", true, 604800 }, { "90s", true, 90 },
		{ "30m", true, 1800 },  { "0", true, 0 },       { "0s", true, 0 },
		{ "5", false, 0 },      { "h", false, 0 },      { "1w", false, 0 },
		{ "1hh", false, 0 },    { "", false, 0 },       { "-1h", false, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		long seconds = -1;
		bool ok = reputation_parse_duration(cases[i].text, &seconds);
		if (ok != cases[i].ok || (ok && seconds != cases[i].seconds))
			fail_msg("\"%s\": ok %d seconds %ld", cases[i].text, ok, seconds);
	}
}

static void
rates_and_limits_format_for_people(void **state)
{
	char text[REPUTATION_RATE_TEXT];

	(void)state;
	reputation_format_limit(300, text);
	assert_string_equal(text, "0.30%");
	reputation_format_limit(5, text);
	assert_string_equal(text, "0.005%");
	reputation_format_limit(5000, text);
	assert_string_equal(text, "5.00%");
	reputation_format_rate(42, 10000, text);
	assert_string_equal(text, "0.42%");
	reputation_format_rate(1, 0, text);
	assert_string_equal(text, "-");
}

static const struct reputation_limits defaults = {
	.warn_complaint = 100,
	.warn_bounce = 2000,
	.pause_complaint = 300,
	.pause_bounce = 5000,
	.min_sends = 500,
	.window_hours = 24,
};

static void
levels_follow_the_limits(void **state)
{
	static const struct {
		const char *name;
		struct reputation_counts counts;
		enum reputation_level level;
		const char *metric;
	} cases[] = {
		{ "nothing sent", { 0, 0, 0 }, REPUTATION_TOO_FEW, NULL },
		{ "too few sends to judge", { 499, 0, 499 }, REPUTATION_TOO_FEW, NULL },
		{ "clean", { 10000, 10, 5 }, REPUTATION_FINE, NULL },
		{ "complaints exactly at warn", { 10000, 0, 10 }, REPUTATION_FINE, NULL },
		{ "complaints over warn", { 10000, 0, 11 }, REPUTATION_WARN, "complaint" },
		{ "complaints exactly at pause", { 10000, 0, 30 }, REPUTATION_WARN, "complaint" },
		{ "complaints over pause", { 10000, 0, 31 }, REPUTATION_PAUSE, "complaint" },
		{ "bounces over warn", { 1000, 21, 0 }, REPUTATION_WARN, "bounce" },
		{ "bounces over pause", { 1000, 51, 0 }, REPUTATION_PAUSE, "bounce" },
		{ "complaint pause beats bounce warn",
		  { 1000, 30, 4 },
		  REPUTATION_PAUSE,
		  "complaint" },
		{ "bounce pause beats complaint warn",
		  { 1000, 60, 2 },
		  REPUTATION_PAUSE,
		  "bounce" },
		{ "min_sends exactly", { 500, 0, 2 }, REPUTATION_PAUSE, "complaint" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct reputation_finding f;
		reputation_level(&cases[i].counts, &defaults, &f);
		if (f.level != cases[i].level || (cases[i].metric == NULL) != (f.metric == NULL) ||
		    (f.metric != NULL && strcmp(f.metric, cases[i].metric) != 0))
			fail_msg("%s: level %d metric %s", cases[i].name, f.level,
			         f.metric ? f.metric : "-");
	}
}

static void
a_limit_of_zero_never_acts(void **state)
{
	struct reputation_limits off = { .min_sends = 1 };
	struct reputation_counts all_bad = { 100, 100, 100 };
	struct reputation_finding f;

	(void)state;
	reputation_level(&all_bad, &off, &f);
	assert_int_equal(f.level, REPUTATION_FINE);
}

static void
transitions_warn_once_and_pause_until_resumed(void **state)
{
	static const struct {
		enum reputation_state state;
		enum reputation_level level;
		enum reputation_action action;
	} cases[] = {
		{ REPUTATION_STATE_OK, REPUTATION_TOO_FEW, REPUTATION_NOTHING },
		{ REPUTATION_STATE_OK, REPUTATION_FINE, REPUTATION_NOTHING },
		{ REPUTATION_STATE_OK, REPUTATION_WARN, REPUTATION_DO_WARN },
		{ REPUTATION_STATE_OK, REPUTATION_PAUSE, REPUTATION_DO_PAUSE },
		{ REPUTATION_STATE_WARNED, REPUTATION_WARN, REPUTATION_NOTHING },
		{ REPUTATION_STATE_WARNED, REPUTATION_PAUSE, REPUTATION_DO_PAUSE },
		{ REPUTATION_STATE_WARNED, REPUTATION_FINE, REPUTATION_DO_REARM },
		{ REPUTATION_STATE_WARNED, REPUTATION_TOO_FEW, REPUTATION_NOTHING },
		{ REPUTATION_STATE_PAUSED, REPUTATION_PAUSE, REPUTATION_NOTHING },
		{ REPUTATION_STATE_PAUSED, REPUTATION_FINE, REPUTATION_NOTHING },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		if (reputation_next(cases[i].state, cases[i].level) != cases[i].action)
			fail_msg("case %zu: state %d level %d", i, cases[i].state, cases[i].level);
}

/* ------------------------------------------------------------ the store */

struct fixture {
	char dir[64];
	struct store *store;
};

static int
store_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[128];
	struct buf err = BUF_INIT;

	snprintf(f->dir, sizeof(f->dir), "/tmp/mw-test-reputation.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/state.db", f->dir);
	f->store = store_open(path, &err);
	buf_free(&err);
	*state = f;
	return f->store != NULL ? 0 : -1;
}

static int
store_teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->store);
	unit_remove_tree(f->dir);
	free(f);
	return 0;
}

static void
add(struct store *store, const char *name, time_t when, int64_t sends, int64_t complaints)
{
	struct reputation_increment row = {
		REPUTATION_STREAM, name, reputation_hour(when), { sends, 0, complaints }
	};
	struct buf err = BUF_INIT;

	assert_int_equal(reputation_store_add(store, &row, 1, &err), 0);
	buf_free(&err);
}

static void
window_sums_the_hours_in_it(void **state)
{
	struct fixture *f = *state;
	time_t now = 1795460000;
	struct reputation_counts c;

	add(f->store, "news", now, 100, 1);
	add(f->store, "news", now, 50, 1); /* same hour: one bucket */
	add(f->store, "news", now - 23 * 3600, 10, 0);
	add(f->store, "news", now - 24 * 3600, 1000, 9); /* just outside 24 h */
	add(f->store, "other", now, 7, 7);
	assert_int_equal(
	    reputation_store_window(f->store, REPUTATION_STREAM, "news", now, 24, NULL, &c, NULL),
	    0);
	assert_int_equal(c.sends, 160);
	assert_int_equal(c.complaints, 2);
	assert_int_equal(
	    reputation_store_window(f->store, REPUTATION_STREAM, "news", now, 168, NULL, &c, NULL),
	    0);
	assert_int_equal(c.sends, 1160);
	assert_int_equal(reputation_store_prune(f->store, reputation_hour(now) - 1, NULL), 0);
	assert_int_equal(
	    reputation_store_window(f->store, REPUTATION_STREAM, "news", now, 168, NULL, &c, NULL),
	    0);
	assert_int_equal(c.sends, 150);
}

static void
a_resume_judges_afresh_and_changes_check_the_state(void **state)
{
	struct fixture *f = *state;
	time_t now = 1795460000;
	struct reputation_record rec = { .kind = REPUTATION_STREAM, .name = "news" };
	struct reputation_counts c;

	add(f->store, "news", now - 3600, 100, 5);
	add(f->store, "news", now, 100, 5);
	rec.state = REPUTATION_STATE_PAUSED;
	rec.since = now;
	snprintf(rec.reason, sizeof(rec.reason), "complaint rate 5.00%% > 0.30%%");
	assert_int_equal(reputation_store_change(f->store, &rec, REPUTATION_STATE_OK, false,
	                                         "StreamPaused", "{}", NULL),
	                 1);
	/* A second pause from "ok" finds it paused already. */
	assert_int_equal(reputation_store_change(f->store, &rec, REPUTATION_STATE_OK, false,
	                                         "StreamPaused", "{}", NULL),
	                 0);
	rec.state = REPUTATION_STATE_OK;
	assert_int_equal(reputation_store_change(f->store, &rec, REPUTATION_STATE_PAUSED, true,
	                                         "StreamResumed", "{\"by\":\"x\"}", NULL),
	                 1);
	add(f->store, "news", now, 10, 0); /* after the resume */
	assert_int_equal(reputation_store_get(f->store, REPUTATION_STREAM, "news", &rec, NULL), 1);
	assert_int_equal(rec.state, REPUTATION_STATE_OK);
	assert_int_equal(
	    reputation_store_window(f->store, REPUTATION_STREAM, "news", now, 24, &rec, &c, NULL),
	    0);
	assert_int_equal(c.sends, 10);
	assert_int_equal(c.complaints, 0);
}

struct collector {
	int take; /* how many to take */
	int seen;
	char types[4][32];
};

static bool
collect(const struct reputation_note *note, void *arg)
{
	struct collector *c = arg;

	if (c->seen < 4)
		snprintf(c->types[c->seen], sizeof(c->types[0]), "%s", note->type);
	return c->seen++ < c->take;
}

static void
announcements_come_back_until_taken(void **state)
{
	struct fixture *f = *state;
	struct reputation_record rec = { .kind = REPUTATION_DOMAIN, .name = "example.com" };
	struct collector first = { .take = 1 }, second = { .take = 9 }, third = { .take = 9 };

	rec.state = REPUTATION_STATE_PAUSED;
	assert_int_equal(reputation_store_change(f->store, &rec, REPUTATION_STATE_OK, false,
	                                         "FromDomainPaused", "{}", NULL),
	                 1);
	rec.state = REPUTATION_STATE_OK;
	assert_int_equal(reputation_store_change(f->store, &rec, REPUTATION_STATE_PAUSED, true,
	                                         "FromDomainResumed", "{}", NULL),
	                 1);
	assert_int_equal(reputation_store_notes(f->store, collect, &first, NULL), 0);
	assert_int_equal(first.seen, 2); /* the second was offered, not taken */
	assert_string_equal(first.types[0], "FromDomainPaused");
	assert_int_equal(reputation_store_notes(f->store, collect, &second, NULL), 0);
	assert_int_equal(second.seen, 1);
	assert_string_equal(second.types[0], "FromDomainResumed");
	assert_int_equal(reputation_store_notes(f->store, collect, &third, NULL), 0);
	assert_int_equal(third.seen, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rates_parse_as_percentages),
		cmocka_unit_test(durations_parse_with_units),
		cmocka_unit_test(rates_and_limits_format_for_people),
		cmocka_unit_test(levels_follow_the_limits),
		cmocka_unit_test(a_limit_of_zero_never_acts),
		cmocka_unit_test(transitions_warn_once_and_pause_until_resumed),
		cmocka_unit_test_setup_teardown(window_sums_the_hours_in_it, store_setup,
		                                store_teardown),
		cmocka_unit_test_setup_teardown(a_resume_judges_afresh_and_changes_check_the_state,
		                                store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(announcements_come_back_until_taken, store_setup,
		                                store_teardown),
	};
	return cmocka_run_group_tests_name("reputation", tests, NULL, NULL);
}
