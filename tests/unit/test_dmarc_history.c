/*
 * test_dmarc_history - DMARC evaluations in the store
 *
 * A row reads back as stored (normalized), bad rows are refused whole,
 * grouping follows the report's <record> rules, a version 1 file is
 * upgraded in place, purging removes old rows with their DKIM results,
 * inserts from several threads all land, and 10000 inserts are timed.
 */
#include "config.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/dmarc_history.h"
#include "tests/unit/unit.h"

#define T0 ((time_t)1795392000) /* 2026-11-23T00:00:00Z */

static const struct dmarc_row_dkim three_signatures[] = {
	{ "Example.COM.", "Sel1", DMARC_DKIM_PASS, "" },
	{ "esp.example", "k2", DMARC_DKIM_FAIL, "body hash did not verify" },
	{ "example.com", NULL, DMARC_DKIM_TEMPERROR, "key query timed out" },
};

/* Signatures of the same message seen in another order. */
static const struct dmarc_row_dkim three_reordered[] = {
	{ "example.com", "", DMARC_DKIM_TEMPERROR, "key query timed out" },
	{ "example.com", "sel1", DMARC_DKIM_PASS, NULL },
	{ "ESP.example", "K2", DMARC_DKIM_FAIL, "body hash did not verify" },
};

static struct dmarc_row
sample_row(void)
{
	return (struct dmarc_row){
		.time = T0 + 3600,
		.source_ip = "::ffff:192.0.2.7",
		.header_from = "Example.COM",
		.envelope_from = "bounce.example.com.",
		.envelope_to = "receiver.example",
		.policy_domain = "example.com",
		.published = { .adkim = DMARC_ALIGN_STRICT,
		               .aspf = DMARC_ALIGN_RELAXED,
		               .p = DMARC_POLICY_REJECT,
		               .sp = DMARC_POLICY_QUARANTINE,
		               .np = DMARC_POLICY_REJECT,
		               .pct = 50,
		               .fo = DMARC_FO_1 | DMARC_FO_D,
		               .testing = true,
		               .rua = "mailto:dmarc@example.com,mailto:x@esp.example" },
		.disposition = DMARC_POLICY_QUARANTINE,
		.dkim_aligned = true,
		.spf_aligned = false,
		.reason = DMARC_REASON_SAMPLED_OUT,
		.reason_comment = "pct=50 & <draw>",
		.spf_domain = "Bounce.Example.com",
		.spf_scope = DMARC_SCOPE_MFROM,
		.spf_result = DMARC_SPF_SOFTFAIL,
		.dkim = three_signatures,
		.dkim_count = 3,
	};
}

static struct store *
open_store(const char *name)
{
	char path[128];
	struct buf err = BUF_INIT;
	struct store *store;

	snprintf(path, sizeof(path), "%s/%s", unit_tmpdir, name);
	unlink(path);
	store = store_open(path, &err);
	if (store == NULL)
		fail_msg("store_open: %s", buf_str(&err));
	return store;
}

static void
add_ok(struct store *store, const struct dmarc_row *row)
{
	struct buf err = BUF_INIT;

	if (dmarc_history_add(store, row, &err) != 0)
		fail_msg("dmarc_history_add: %s", buf_str(&err));
	buf_free(&err);
}

/* ------------------------------------------------------- read back */

struct collected {
	struct buf text; /* one line per row or group */
	unsigned long rows, calls;
};

static void
describe_dkim(struct buf *out, const struct dmarc_row *row)
{
	for (size_t i = 0; i < row->dkim_count; i++)
		buf_printf(out, " dkim=%s/%s/%s/%s", row->dkim[i].domain, row->dkim[i].selector,
		           dmarc_vocab_name(DMARC_VOCAB_DKIM, (int)row->dkim[i].result),
		           row->dkim[i].human_result);
}

static int
collect(const struct dmarc_row *row, unsigned long count, void *arg)
{
	struct collected *c = arg;
	const struct dmarc_row_published *pub = &row->published;
	char fo[16];

	dmarc_fo_format(pub->fo, fo, sizeof(fo));
	buf_printf(&c->text,
	           "%lu %lld %s from=%s mfrom=%s to=%s pd=%s adkim=%s aspf=%s p=%s sp=%s np=%s "
	           "pct=%u fo=%s t=%d rua=%s disp=%s dkim=%d spf=%d reason=%s/%s spf=%s/%s/%s",
	           count, (long long)row->time, row->source_ip, row->header_from,
	           row->envelope_from, row->envelope_to, row->policy_domain,
	           dmarc_vocab_name(DMARC_VOCAB_ALIGN, (int)pub->adkim),
	           dmarc_vocab_name(DMARC_VOCAB_ALIGN, (int)pub->aspf),
	           dmarc_vocab_name(DMARC_VOCAB_POLICY, (int)pub->p),
	           dmarc_vocab_name(DMARC_VOCAB_POLICY, (int)pub->sp),
	           dmarc_vocab_name(DMARC_VOCAB_POLICY, (int)pub->np), pub->pct, fo, pub->testing,
	           pub->rua, dmarc_vocab_name(DMARC_VOCAB_POLICY, (int)row->disposition),
	           row->dkim_aligned, row->spf_aligned,
	           dmarc_vocab_name(DMARC_VOCAB_REASON, (int)row->reason), row->reason_comment,
	           row->spf_domain, dmarc_vocab_name(DMARC_VOCAB_SCOPE, (int)row->spf_scope),
	           dmarc_vocab_name(DMARC_VOCAB_SPF, (int)row->spf_result));
	describe_dkim(&c->text, row);
	buf_puts(&c->text, "\n");
	c->rows += count;
	c->calls++;
	return 0;
}

static void
row_reads_back_normalized(void **state)
{
	struct store *store = open_store("readback.db");
	struct dmarc_row row = sample_row();
	struct collected c = { BUF_INIT, 0, 0 };
	struct buf err = BUF_INIT;

	(void)state;
	add_ok(store, &row);
	assert_int_equal(dmarc_history_rows(store, NULL, T0, T0 + 86399, collect, &c, &err), 0);
	assert_string_equal(
	    buf_str(&c.text),
	    "1 1795395600 192.0.2.7 from=example.com mfrom=bounce.example.com "
	    "to=receiver.example pd=example.com adkim=s aspf=r p=reject sp=quarantine np=reject "
	    "pct=50 fo=1:d t=1 rua=mailto:dmarc@example.com,mailto:x@esp.example "
	    "disp=quarantine dkim=1 spf=0 reason=sampled_out/pct=50 & <draw> "
	    "spf=bounce.example.com/mfrom/softfail"
	    " dkim=example.com/sel1/pass/ dkim=esp.example/k2/fail/body hash did not verify"
	    " dkim=example.com//temperror/key query timed out\n");
	store_close(store);
	buf_free(&c.text);
}

static void
optional_strings_read_back_empty(void **state)
{
	struct store *store = open_store("optional.db");
	struct dmarc_row row = { .time = T0,
		                 .source_ip = "2001:DB8:0:0:0:0:0:1",
		                 .header_from = "a.example",
		                 .policy_domain = "a.example",
		                 .spf_scope = DMARC_SCOPE_HELO };
	struct collected c = { BUF_INIT, 0, 0 };

	(void)state;
	add_ok(store, &row);
	assert_int_equal(dmarc_history_rows(store, "a.example", T0, T0, collect, &c, NULL), 0);
	assert_string_equal(buf_str(&c.text),
	                    "1 1795392000 2001:db8::1 from=a.example mfrom= to= pd=a.example "
	                    "adkim=r aspf=r p=none sp=none np=none pct=0 fo=0 t=0 rua= disp=none "
	                    "dkim=0 spf=0 reason=none/ spf=/helo/none\n");
	store_close(store);
	buf_free(&c.text);
}

/* ---------------------------------------------------------- refusals */

static void
make_bad_ip(struct dmarc_row *r)
{
	r->source_ip = "192.0.2.300";
}
static void
make_no_ip(struct dmarc_row *r)
{
	r->source_ip = NULL;
}
static void
make_no_from(struct dmarc_row *r)
{
	r->header_from = "";
}
static void
make_no_policy_domain(struct dmarc_row *r)
{
	r->policy_domain = NULL;
}
static void
make_bad_policy(struct dmarc_row *r)
{
	r->published.p = (enum dmarc_policy)7;
}
static void
make_bad_pct(struct dmarc_row *r)
{
	r->published.pct = 101;
}
static void
make_bad_reason(struct dmarc_row *r)
{
	r->reason = (enum dmarc_reason) - 1;
}
static void
make_bad_dkim_result(struct dmarc_row *r)
{
	static const struct dmarc_row_dkim bad[] = { { "x.example", "s", (enum dmarc_dkim)9, "" } };
	r->dkim = bad;
	r->dkim_count = 1;
}
static void
make_too_many_dkim(struct dmarc_row *r)
{
	static struct dmarc_row_dkim many[DMARC_HISTORY_MAX_DKIM + 1];
	for (size_t i = 0; i < ARRAY_LEN(many); i++)
		many[i] = (struct dmarc_row_dkim){ "x.example", "s", DMARC_DKIM_PASS, "" };
	r->dkim = many;
	r->dkim_count = ARRAY_LEN(many);
}
static void
make_long_domain(struct dmarc_row *r)
{
	static char name[DMARC_HISTORY_MAX_DOMAIN + 2];
	memset(name, 'a', sizeof(name) - 1);
	r->envelope_to = name;
}
static void
make_long_comment(struct dmarc_row *r)
{
	static char text[DMARC_HISTORY_MAX_TEXT + 2];
	memset(text, 'c', sizeof(text) - 1);
	r->reason_comment = text;
}

static const struct {
	const char *name;
	void (*spoil)(struct dmarc_row *row);
	const char *says;
} refusals[] = {
	{ "an address that is not one", make_bad_ip, "192.0.2.300" },
	{ "no address", make_no_ip, "not an IP address" },
	{ "no header_from", make_no_from, "required" },
	{ "no policy domain", make_no_policy_domain, "required" },
	{ "p out of range", make_bad_policy, "out of range" },
	{ "pct over 100", make_bad_pct, "out of range" },
	{ "unknown override reason", make_bad_reason, "out of range" },
	{ "unknown DKIM result", make_bad_dkim_result, "out of range" },
	{ "65 DKIM results", make_too_many_dkim, "65 DKIM results" },
	{ "a 256-byte domain", make_long_domain, "longer than 255" },
	{ "a 1025-byte comment", make_long_comment, "longer than 1024" },
};

static int
count_only(const struct dmarc_row *row, unsigned long count, void *arg)
{
	(void)row;
	*(unsigned long *)arg += count;
	return 0;
}

static void
bad_rows_are_refused_whole(void **state)
{
	struct store *store = open_store("refused.db");
	unsigned long stored = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(refusals); i++) {
		struct dmarc_row row = sample_row();
		struct buf err = BUF_INIT;
		refusals[i].spoil(&row);
		if (dmarc_history_add(store, &row, &err) != -1)
			fail_msg("%s: accepted", refusals[i].name);
		if (strstr(buf_str(&err), refusals[i].says) == NULL)
			fail_msg("%s: says \"%s\"", refusals[i].name, buf_str(&err));
		buf_free(&err);
	}
	assert_int_equal(dmarc_history_rows(store, NULL, 0, T0 * 2, count_only, &stored, NULL), 0);
	assert_int_equal(stored, 0);
	store_close(store);
}

/* A batch stores its good rows in one transaction and names the bad ones. */
static void
a_batch_keeps_the_good_rows(void **state)
{
	struct store *store = open_store("batch.db");
	struct dmarc_row rows[3] = { sample_row(), sample_row(), sample_row() };
	struct buf err = BUF_INIT;
	unsigned long stored = 0;
	size_t added = 0;

	(void)state;
	rows[1].source_ip = "not an address";
	assert_int_equal(dmarc_history_add_many(store, rows, 3, &added, &err), 0);
	assert_int_equal(added, 2);
	assert_non_null(strstr(buf_str(&err), "not an IP address"));
	assert_int_equal(dmarc_history_rows(store, NULL, 0, T0 * 2, count_only, &stored, NULL), 0);
	assert_int_equal(stored, 2);
	buf_free(&err);
	store_close(store);
}

/* ---------------------------------------------------------- grouping */

static void
add_variant(struct store *store, time_t when, void (*change)(struct dmarc_row *row))
{
	struct dmarc_row row = sample_row();

	row.time = when;
	if (change != NULL)
		change(&row);
	add_ok(store, &row);
}

static void
reorder_dkim(struct dmarc_row *r)
{
	r->dkim = three_reordered;
}
static void
other_ip(struct dmarc_row *r)
{
	r->source_ip = "2001:db8::25";
}
static void
other_human_result(struct dmarc_row *r)
{
	static const struct dmarc_row_dkim sigs[] = {
		{ "example.com", "sel1", DMARC_DKIM_PASS, "" },
		{ "esp.example", "k2", DMARC_DKIM_FAIL, "signature expired" },
		{ "example.com", "", DMARC_DKIM_TEMPERROR, "key query timed out" },
	};
	r->dkim = sigs;
}
static void
fewer_signatures(struct dmarc_row *r)
{
	r->dkim_count = 2;
}
static void
other_reason(struct dmarc_row *r)
{
	r->reason = DMARC_REASON_LOCAL_POLICY;
}
static void
new_policy(struct dmarc_row *r)
{
	r->published.p = DMARC_POLICY_NONE;
	r->published.pct = 100;
}
static void
other_domain(struct dmarc_row *r)
{
	r->policy_domain = "other.example";
	r->header_from = "mail.other.example";
}

static void
groups_follow_record_rules(void **state)
{
	struct store *store = open_store("groups.db");
	struct collected c = { BUF_INIT, 0, 0 };
	struct buf err = BUF_INIT;
	char **domains;
	size_t ndomains;

	(void)state;
	add_variant(store, T0 + 10, NULL);
	add_variant(store, T0 + 20, reorder_dkim); /* same set, other order: same group */
	add_variant(store, T0 + 30, NULL);
	add_variant(store, T0 + 40, new_policy); /* policy changed, record the same */
	add_variant(store, T0 + 50, other_ip);
	add_variant(store, T0 + 60, other_ip);
	add_variant(store, T0 + 70, other_human_result);
	add_variant(store, T0 + 80, fewer_signatures);
	add_variant(store, T0 + 90, other_reason);
	add_variant(store, T0 + 100, other_domain);
	add_variant(store, T0 - 1, NULL);     /* before the period */
	add_variant(store, T0 + 86400, NULL); /* after it */

	assert_int_equal(
	    dmarc_history_groups(store, "example.com", T0, T0 + 86399, collect, &c, &err), 0);
	assert_int_equal(c.calls, 5);
	assert_int_equal(c.rows, 9);
	/* Largest first; the group's latest row gives time and policy. */
	assert_true(strncmp(buf_str(&c.text), "4 1795392040 192.0.2.7 ", 23) == 0);
	assert_non_null(strstr(buf_str(&c.text), "p=none sp=quarantine np=reject pct=100"));
	assert_non_null(strstr(buf_str(&c.text), "\n2 1795392060 2001:db8::25 "));
	assert_non_null(strstr(buf_str(&c.text), "reason=local_policy/"));
	assert_non_null(strstr(buf_str(&c.text), "signature expired"));

	assert_int_equal(dmarc_history_domains(store, T0, T0 + 86399, &domains, &ndomains, &err),
	                 0);
	assert_int_equal(ndomains, 2);
	assert_string_equal(domains[0], "example.com");
	assert_string_equal(domains[1], "other.example");
	dmarc_history_domains_free(domains, ndomains);
	assert_int_equal(
	    dmarc_history_domains(store, T0 + 86400 * 2, T0 + 86400 * 3, &domains, &ndomains, &err),
	    0);
	assert_int_equal(ndomains, 0);
	store_close(store);
	buf_free(&c.text);
}

static int
stop_at_once(const struct dmarc_row *row, unsigned long count, void *arg)
{
	(void)row;
	(void)count;
	(void)arg;
	return -1;
}

static void
callback_can_stop_the_walk(void **state)
{
	struct store *store = open_store("stop.db");
	struct buf err = BUF_INIT;

	(void)state;
	add_variant(store, T0, NULL);
	assert_int_equal(dmarc_history_rows(store, NULL, T0, T0, stop_at_once, NULL, &err), -1);
	assert_non_null(strstr(buf_str(&err), "stopped"));
	/* The store stays usable: the lock and the statement were released. */
	add_variant(store, T0, NULL);
	store_close(store);
	buf_free(&err);
}

/* ----------------------------------------------------------- upgrade */

static void
make_version_1_file(const char *path, const char *version)
{
	sqlite3 *db;
	char sql[256];

	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql),
	         "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	         "INSERT INTO meta VALUES ('schema_version', '%s'), ('marker', 'kept');",
	         version);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
version_1_file_is_upgraded_in_place(void **state)
{
	char path[128];
	struct buf err = BUF_INIT;
	struct store *store;
	sqlite3 *db;
	sqlite3_stmt *stmt;
	unsigned long stored = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/v1.db", unit_tmpdir);
	make_version_1_file(path, "1");
	store = store_open(path, &err);
	assert_non_null(store);
	assert_int_equal(store_schema_version(store), STORE_SCHEMA_VERSION);
	add_variant(store, T0, NULL);
	store_close(store);

	store = store_open(path, &err); /* and opens again as version 2 */
	assert_non_null(store);
	assert_int_equal(dmarc_history_rows(store, NULL, T0, T0, count_only, &stored, &err), 0);
	assert_int_equal(stored, 1);
	store_close(store);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'marker'", -1, &stmt, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "kept");
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	assert_int_equal(err.len, 0);
}

static void
newer_file_is_refused(void **state)
{
	char path[128];
	struct buf err = BUF_INIT;

	(void)state;
	char newer[16], says[64];

	snprintf(newer, sizeof(newer), "%d", STORE_SCHEMA_VERSION + 1);
	snprintf(says, sizeof(says), "schema version %s is newer", newer);
	snprintf(path, sizeof(path), "%s/newer.db", unit_tmpdir);
	make_version_1_file(path, newer);
	assert_null(store_open(path, &err));
	assert_non_null(strstr(buf_str(&err), says));
	buf_free(&err);
}

/* ------------------------------------------------------------- purge */

static long
count_rows(const char *path, const char *table)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	char sql[128];
	long n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK) {
		if (sqlite3_step(stmt) == SQLITE_ROW)
			n = sqlite3_column_int64(stmt, 0);
		sqlite3_finalize(stmt);
	}
	sqlite3_close(db);
	return n;
}

static void
purge_removes_old_rows_and_their_dkim_results(void **state)
{
	struct store *store = open_store("purge.db");
	char path[128];
	struct buf err = BUF_INIT;
	unsigned long kept = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/purge.db", unit_tmpdir);
	/* 4500 old rows: more than two purge batches. */
	for (int i = 0; i < 4500; i++)
		add_variant(store, T0 - 86400 * 40 + i, NULL);
	for (int i = 0; i < 10; i++)
		add_variant(store, T0 + i, NULL);
	assert_int_equal(dmarc_history_purge(store, T0, &err), 4500);
	assert_int_equal(dmarc_history_purge(store, T0, &err), 0);
	assert_int_equal(dmarc_history_rows(store, NULL, 0, T0 * 2, count_only, &kept, &err), 0);
	assert_int_equal(kept, 10);
	assert_int_equal(count_rows(path, "dmarc_history_dkim"), 30);
	store_close(store);
	assert_int_equal(err.len, 0);
}

/* --------------------------------------------------- threads, timing */

struct worker {
	struct store *store;
	int rows;
	int failures;
};

static void *
insert_many(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->rows; i++) {
		struct dmarc_row row = sample_row();
		struct buf err = BUF_INIT;
		row.time = T0 + i;
		w->failures += dmarc_history_add(w->store, &row, &err) != 0;
		buf_free(&err);
	}
	return NULL;
}

static void
inserts_from_many_threads_all_land(void **state)
{
	struct store *store = open_store("threads.db");
	struct worker workers[8];
	pthread_t threads[8];
	unsigned long stored = 0;

	(void)state;
	for (int i = 0; i < 8; i++) {
		workers[i] = (struct worker){ store, 250, 0 };
		assert_int_equal(pthread_create(&threads[i], NULL, insert_many, &workers[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(workers[i].failures, 0);
	}
	assert_int_equal(dmarc_history_rows(store, NULL, 0, T0 * 2, count_only, &stored, NULL), 0);
	assert_int_equal(stored, 2000);
	store_close(store);
}

static double
seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void
ten_thousand_inserts_are_timed(void **state)
{
	struct store *store = open_store("timing.db");
	struct worker one = { store, 10000, 0 };
	struct timespec start;
	double elapsed;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &start);
	insert_many(&one);
	elapsed = seconds_since(&start);
	assert_int_equal(one.failures, 0);
	/* Measured, not judged tightly: a shared CI machine varies a lot. */
	printf("# 10000 inserts (3 DKIM results each): %.3f s, %.1f us per row\n", elapsed,
	       elapsed * 1e6 / 10000);
	assert_true(elapsed < 60);
	store_close(store);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(row_reads_back_normalized),
		cmocka_unit_test(optional_strings_read_back_empty),
		cmocka_unit_test(bad_rows_are_refused_whole),
		cmocka_unit_test(a_batch_keeps_the_good_rows),
		cmocka_unit_test(groups_follow_record_rules),
		cmocka_unit_test(callback_can_stop_the_walk),
		cmocka_unit_test(version_1_file_is_upgraded_in_place),
		cmocka_unit_test(newer_file_is_refused),
		cmocka_unit_test(purge_removes_old_rows_and_their_dkim_results),
		cmocka_unit_test(inserts_from_many_threads_all_land),
		cmocka_unit_test(ten_thousand_inserts_are_timed),
	};
	return cmocka_run_group_tests_name("dmarc_history", tests, unit_tmpdir_make,
	                                   unit_tmpdir_remove);
}
