/*
 * test_suppression - the suppression list in a real SQLite store: scopes,
 * case, updates, removal, refusals
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/store.h"
#include "common/suppression.h"
#include "tests/unit/unit.h"

static char dir[] = "/tmp/mw-suppression.XXXXXX";

static struct store *
open_store(void)
{
	char path[128];
	struct buf err = BUF_INIT;
	struct store *store;

	snprintf(path, sizeof(path), "%s/state.db", dir);
	store = store_open(path, &err);
	if (store == NULL)
		fail_msg("store_open: %s", buf_str(&err));
	return store;
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
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	return unit_remove_tree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(addresses_are_found_by_scope_in_any_case),
		cmocka_unit_test(empty_or_overlong_keys_are_refused),
	};
	return cmocka_run_group_tests_name("suppression", tests, setup, teardown);
}
