/*
 * test_suppression - the suppression list in a real SQLite store: scopes,
 * case, updates, removal, refusals, date filters, bulk import, and the
 * cache in front of lookups (misses from memory, another connection's
 * additions and removals seen by the next lookup, own additions at once)
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/store.h"
#include "common/suppression.h"
#include "common/suppression_cache.h"
#include "tests/unit/unit.h"

static struct store *
open_named(const char *name)
{
	char path[128];
	struct buf err = BUF_INIT;
	struct store *store;

	snprintf(path, sizeof(path), "%s/%s", unit_tmpdir, name);
	store = store_open(path, &err);
	if (store == NULL)
		fail_msg("store_open: %s", buf_str(&err));
	return store;
}

static struct store *
open_store(void)
{
	return open_named("state.db");
}

static struct suppression_entry
entry(const char *address, const char *scope, enum suppression_reason reason, time_t when)
{
	struct suppression_entry e = { .reason = reason, .time = when };

	snprintf(e.address, sizeof(e.address), "%s", address);
	snprintf(e.scope, sizeof(e.scope), "%s", scope);
	snprintf(e.message_id, sizeof(e.message_id), "mid-%ld", (long)when);
	return e;
}

static void
addresses_are_found_by_scope_in_any_case(void **state)
{
	struct store *store = open_store();
	struct suppression_entry e = entry("Alice@Example.COM", "", SUPPRESSION_BOUNCE, 1000), got;
	struct buf err = BUF_INIT;

	(void)state;
	assert_int_equal(suppression_add(store, &e, &err), 0);
	assert_int_equal(suppression_get(store, "alice@example.com", "", &got, &err), 1);
	assert_string_equal(got.address, "alice@example.com");
	assert_int_equal(got.reason, SUPPRESSION_BOUNCE);
	assert_int_equal(got.time, 1000);
	assert_string_equal(got.message_id, "mid-1000");
	/* A stream's list is its own. */
	assert_int_equal(suppression_get(store, "alice@example.com", "newsletters", &got, &err), 0);
	e = entry("alice@example.com", "newsletters", SUPPRESSION_UNSUBSCRIBE, 2000);
	assert_int_equal(suppression_add(store, &e, &err), 0);
	assert_int_equal(suppression_get(store, "ALICE@example.com", "newsletters", &got, &err), 1);
	assert_int_equal(got.reason, SUPPRESSION_UNSUBSCRIBE);
	/* Adding again updates. */
	e = entry("alice@example.com", "", SUPPRESSION_COMPLAINT, 3000);
	assert_int_equal(suppression_add(store, &e, &err), 0);
	assert_int_equal(suppression_get(store, "alice@example.com", "", &got, &err), 1);
	assert_int_equal(got.reason, SUPPRESSION_COMPLAINT);
	assert_int_equal(got.time, 3000);
	/* Removal is per scope. */
	assert_int_equal(suppression_remove(store, "Alice@example.com", "", &err), 1);
	assert_int_equal(suppression_remove(store, "alice@example.com", "", &err), 0);
	assert_int_equal(suppression_get(store, "alice@example.com", "newsletters", &got, &err), 1);
	assert_int_equal(err.len, 0);
	assert_string_equal(suppression_reason_name(SUPPRESSION_UNSUBSCRIBE), "UNSUBSCRIBE");
	buf_free(&err);
	store_close(store);
}

static void
empty_or_overlong_keys_are_refused(void **state)
{
	struct store *store = open_store();
	char long_address[SUPPRESSION_ADDRESS_MAX + 10];
	struct suppression_entry e = entry("", "", SUPPRESSION_MANUAL, 1), got;
	struct buf err = BUF_INIT;

	(void)state;
	assert_int_equal(suppression_add(store, &e, &err), -1);
	memset(long_address, 'a', sizeof(long_address) - 1);
	long_address[sizeof(long_address) - 1] = '\0';
	assert_int_equal(suppression_get(store, long_address, "", &got, &err), 0);
	buf_free(&err);
	store_close(store);
}

static int
collect(const struct suppression_entry *e, void *arg)
{
	struct buf *out = arg;

	buf_printf(out, "%s/%s ", e->address, e->scope);
	return 0;
}

static void
list_filters_by_date_range_and_scope(void **state)
{
	struct store *store = open_named("dates.db");
	struct suppression_entry e;
	struct suppression_filter f = { .limit = -1 };
	struct buf got = BUF_INIT, err = BUF_INIT;

	(void)state;
	e = entry("a@example.com", "", SUPPRESSION_BOUNCE, 1000);
	suppression_add(store, &e, &err);
	e = entry("b@example.com", "news", SUPPRESSION_BOUNCE, 2000);
	suppression_add(store, &e, &err);
	e = entry("c@example.com", "", SUPPRESSION_COMPLAINT, 3000);
	suppression_add(store, &e, &err);
	f.since_set = true;
	f.since = 2000;
	assert_int_equal(suppression_list(store, &f, collect, &got, &err), 2);
	assert_string_equal(buf_str(&got), "b@example.com/news c@example.com/ ");
	buf_reset(&got);
	f.until_set = true;
	f.until = 3000;
	assert_int_equal(suppression_list(store, &f, collect, &got, &err), 1);
	assert_string_equal(buf_str(&got), "b@example.com/news ");
	buf_reset(&got);
	f = (struct suppression_filter){ .limit = -1, .scope = "" };
	assert_int_equal(suppression_list(store, &f, collect, &got, &err), 2);
	assert_string_equal(buf_str(&got), "a@example.com/ c@example.com/ ");
	buf_free(&got);
	buf_free(&err);
	store_close(store);
}

static void
import_upserts_in_batches_and_the_last_row_wins(void **state)
{
	struct store *store = open_named("import.db");
	struct buf err = BUF_INIT;
	struct suppression_import *im = suppression_import_begin(store, &err);
	struct suppression_entry e, got;
	long n = SUPPRESSION_IMPORT_BATCH + 10, done;

	(void)state;
	assert_non_null(im);
	for (long i = 0; i < n; i++) {
		char address[64];

		snprintf(address, sizeof(address), "User%ld@Example.com", i % (n - 1));
		e = entry(address, "", i == n - 1 ? SUPPRESSION_COMPLAINT : SUPPRESSION_BOUNCE, i);
		assert_int_equal(suppression_import_put(im, &e, &err), 0);
	}
	assert_int_equal(suppression_import_end(im, &done, &err), 0);
	assert_int_equal(done, n);
	/* user0 came twice: the second (last) row is the one kept */
	assert_int_equal(suppression_get(store, "user0@example.com", "", &got, &err), 1);
	assert_int_equal(got.reason, SUPPRESSION_COMPLAINT);
	assert_int_equal(got.time, n - 1);
	assert_int_equal(suppression_get(store, "user50005@example.com", "", &got, &err), 1);
	buf_free(&err);
	store_close(store);
}

/* Wait (5 s at most) until the cache has read the list again. */
static bool
cache_current(struct store *store)
{
	struct suppression_cache_stats st;

	for (int i = 0; i < 500; i++) {
		suppression_cache_stats(store, &st);
		if (st.current)
			return true;
		usleep(10000);
	}
	return false;
}

static void
cache_answers_misses_from_memory_and_hits_from_the_table(void **state)
{
	struct store *store = open_named("cache.db");
	struct suppression_entry e = entry("Hit@Example.com", "news", SUPPRESSION_UNSUBSCRIBE, 77),
	                         got;
	struct suppression_cache_stats st;
	struct buf err = BUF_INIT;

	(void)state;
	assert_int_equal(suppression_add(store, &e, &err), 0);
	assert_int_equal(suppression_cache_start(store, &err), 0);
	suppression_cache_stats(store, &st);
	assert_true(st.running && st.current);
	assert_int_equal(st.entries, 1);
	assert_int_equal(suppression_get(store, "hit@example.com", "news", &got, &err), 1);
	assert_int_equal(got.reason, SUPPRESSION_UNSUBSCRIBE);
	assert_int_equal(got.time, 77);
	assert_int_equal(suppression_get(store, "hit@example.com", "", &got, &err), 0);
	assert_int_equal(suppression_get(store, "miss@example.com", "news", &got, &err), 0);
	suppression_cache_stats(store, &st);
	assert_int_equal(st.lookups, 3);
	assert_true(st.from_memory >= 1); /* a false positive is allowed, not two */
	/* This process's additions go into the filter at once, without a rebuild. */
	e = entry("new@example.com", "", SUPPRESSION_BOUNCE, 78);
	assert_int_equal(suppression_add(store, &e, &err), 0);
	assert_int_equal(suppression_get(store, "NEW@example.com", "", &got, &err), 1);
	suppression_cache_stats(store, &st);
	assert_true(st.current);
	assert_int_equal(st.rebuilds, 0);
	assert_int_equal(suppression_remove(store, "new@example.com", "", &err), 1);
	assert_int_equal(suppression_get(store, "new@example.com", "", &got, &err), 0);
	assert_int_equal(err.len, 0);
	buf_free(&err);
	store_close(store);
}

static void
cache_sees_another_connections_changes_at_the_next_lookup(void **state)
{
	struct store *milter = open_named("shared.db"), *cli = open_named("shared.db");
	struct suppression_entry e = entry("x@example.com", "", SUPPRESSION_MANUAL, 5), got;
	struct suppression_cache_stats st;
	struct buf err = BUF_INIT;

	(void)state;
	assert_int_equal(suppression_cache_start(milter, &err), 0);
	assert_int_equal(suppression_get(milter, "x@example.com", "", &got, &err), 0);
	/* Another connection adds: found at once, from the table, while the cache reads again. */
	assert_int_equal(suppression_add(cli, &e, &err), 0);
	assert_int_equal(suppression_get(milter, "x@example.com", "", &got, &err), 1);
	assert_true(cache_current(milter));
	suppression_cache_stats(milter, &st);
	assert_true(st.rebuilds >= 1);
	assert_int_equal(st.entries, 1);
	assert_int_equal(suppression_get(milter, "x@example.com", "", &got, &err), 1);
	/* ... and removes: not found at the next lookup. */
	assert_int_equal(suppression_remove(cli, "x@example.com", "", &err), 1);
	assert_int_equal(suppression_get(milter, "x@example.com", "", &got, &err), 0);
	/* An import through the cached store itself is seen too. */
	{
		struct suppression_import *im = suppression_import_begin(milter, &err);
		long done;

		e = entry("y@example.com", "s", SUPPRESSION_BOUNCE, 6);
		assert_int_equal(suppression_import_put(im, &e, &err), 0);
		assert_int_equal(suppression_import_end(im, &done, &err), 0);
		assert_int_equal(done, 1);
	}
	assert_int_equal(suppression_get(milter, "y@example.com", "s", &got, &err), 1);
	assert_true(cache_current(milter));
	assert_int_equal(suppression_get(milter, "y@example.com", "s", &got, &err), 1);
	assert_int_equal(err.len, 0);
	buf_free(&err);
	store_close(cli);
	store_close(milter);
}

struct worker {
	struct store *store;
	int id;
	int wrong;
};

/* Add own keys and look them up, and unlisted ones, while others do the same. */
static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct buf err = BUF_INIT;

	for (int i = 0; i < 300; i++) {
		char address[64];
		struct suppression_entry e, got;

		snprintf(address, sizeof(address), "w%d-%d@example.com", w->id, i);
		e = entry(address, "", SUPPRESSION_BOUNCE, i);
		w->wrong += suppression_add(w->store, &e, &err) != 0;
		w->wrong += suppression_get(w->store, address, "", &got, &err) != 1;
		snprintf(address, sizeof(address), "absent%d-%d@example.com", w->id, i);
		w->wrong += suppression_get(w->store, address, "", &got, &err) != 0;
	}
	buf_free(&err);
	return NULL;
}

static void
cache_stays_right_with_threads_and_another_writer(void **state)
{
	struct store *milter = open_named("threads.db"), *cli = open_named("threads.db");
	struct worker workers[4];
	pthread_t threads[4];
	struct buf err = BUF_INIT;
	int wrong = 0;

	(void)state;
	assert_int_equal(suppression_cache_start(milter, &err), 0);
	for (int i = 0; i < 4; i++) {
		workers[i] = (struct worker){ .store = milter, .id = i };
		assert_int_equal(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
	}
	/* Meanwhile another connection adds and removes: seen by the very next lookup. */
	for (int i = 0; i < 200; i++) {
		char address[64];
		struct suppression_entry e, got;

		snprintf(address, sizeof(address), "cli-%d@example.com", i);
		e = entry(address, "s", SUPPRESSION_MANUAL, i);
		assert_int_equal(suppression_add(cli, &e, &err), 0);
		wrong += suppression_get(milter, address, "s", &got, &err) != 1;
		if (i % 2 == 0) {
			assert_int_equal(suppression_remove(cli, address, "s", &err), 1);
			wrong += suppression_get(milter, address, "s", &got, &err) != 0;
		}
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		wrong += workers[i].wrong;
	}
	assert_int_equal(wrong, 0);
	assert_true(cache_current(milter));
	for (int i = 0; i < 200; i++) {
		char address[64];
		struct suppression_entry got;

		snprintf(address, sizeof(address), "cli-%d@example.com", i);
		assert_int_equal(suppression_get(milter, address, "s", &got, &err), i % 2);
	}
	assert_int_equal(err.len, 0);
	buf_free(&err);
	store_close(cli);
	store_close(milter);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(addresses_are_found_by_scope_in_any_case),
		cmocka_unit_test(empty_or_overlong_keys_are_refused),
		cmocka_unit_test(list_filters_by_date_range_and_scope),
		cmocka_unit_test(import_upserts_in_batches_and_the_last_row_wins),
		cmocka_unit_test(cache_answers_misses_from_memory_and_hits_from_the_table),
		cmocka_unit_test(cache_sees_another_connections_changes_at_the_next_lookup),
		cmocka_unit_test(cache_stays_right_with_threads_and_another_writer),
	};
	return cmocka_run_group_tests_name("suppression", tests, unit_tmpdir_make,
	                                   unit_tmpdir_remove);
}
