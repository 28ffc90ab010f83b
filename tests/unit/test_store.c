/*
 * test_store - the SQLite store opens, creates its schema, refuses bad files
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/store.h"
#include "tests/unit/unit.h"

static void
open_creates_the_schema_and_reopens(void **state)
{
	char path[128];
	struct buf err = BUF_INIT;
	struct store *store;

	(void)state;
	snprintf(path, sizeof(path), "%s/new.db", unit_tmpdir);
	store = store_open(path, &err);
	assert_non_null(store);
	assert_int_equal(store_schema_version(store), STORE_SCHEMA_VERSION);
	store_close(store);
	store = store_open(path, &err);
	assert_non_null(store);
	assert_int_equal(store_schema_version(store), STORE_SCHEMA_VERSION);
	store_close(store);
	assert_int_equal(err.len, 0);
}

static void
garbage_file_is_refused_with_its_path(void **state)
{
	char path[128];
	struct buf err = BUF_INIT;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/garbage.db", unit_tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 512; i++)
		fputs("this is not a database ", f);
	fclose(f);
	assert_null(store_open(path, &err));
	assert_non_null(strstr(buf_str(&err), path));
	assert_non_null(strstr(buf_str(&err), "not a database"));
	buf_free(&err);
}

static void
missing_directory_is_refused_with_its_path(void **state)
{
	char path[128];
	struct buf err = BUF_INIT;

	(void)state;
	snprintf(path, sizeof(path), "%s/no/such/unit_tmpdir/x.db", unit_tmpdir);
	assert_null(store_open(path, &err));
	assert_non_null(strstr(buf_str(&err), path));
	buf_free(&err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_creates_the_schema_and_reopens),
		cmocka_unit_test(garbage_file_is_refused_with_its_path),
		cmocka_unit_test(missing_directory_is_refused_with_its_path),
	};
	return cmocka_run_group_tests_name("store", tests, unit_tmpdir_make, unit_tmpdir_remove);
}
