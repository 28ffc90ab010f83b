/*
 * test_metrics - the labelled registry and the Prometheus text format
 *
 * Values are spelled as the format wants them, label values and help texts
 * are escaped, a registry renders HELP/TYPE and its samples sorted, a
 * histogram's buckets are cumulative and end in +Inf with _sum and _count,
 * label sets past a family's cap and over-long values count as "other",
 * and concurrent increments are all counted.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/metrics.h"
#include "tests/unit/unit.h"

static void
values_are_spelled_as_the_format_wants(void **state)
{
	static const struct {
		double value;
		const char *text;
	} cases[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ -3, "-3" },
		{ 0.5, "0.5" },
		{ 0.001, "0.001" },
		{ 1795480230, "1795480230" },
		{ 9007199254740992.0, "9007199254740992" },
		{ 1e300, "1e+300" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ INFINITY, "+Inf" },
		{ -INFINITY, "-Inf" },
		{ NAN, "NaN" },
	};
	char text[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		metrics_format_value(cases[i].value, text, sizeof(text));
		assert_string_equal(text, cases[i].text);
	}
}

static void
label_values_and_help_are_escaped(void **state)
{
	static const struct {
		const char *value;
		const char *line;
	} cases[] = {
		{ "plain", "m_total{l=\"plain\"} 2\n" },
		{ "a\"b", "m_total{l=\"a\\\"b\"} 2\n" },
		{ "back\\slash", "m_total{l=\"back\\\\slash\"} 2\n" },
		{ "two\nlines", "m_total{l=\"two\\nlines\"} 2\n" },
		{ "", "m_total{l=\"\"} 2\n" },
	};
	static const char *const names[] = { "l" };
	struct buf out = BUF_INIT;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct metrics_labels labels = { names, &cases[i].value, 1 };
		buf_reset(&out);
		metrics_write_sample(&out, "m_total", &labels, NULL, NULL, 2);
		assert_string_equal(buf_str(&out), cases[i].line);
	}
	buf_reset(&out);
	metrics_write_header(&out, "m_total", "a \"quoted\" back\\slash\nand a line",
	                     METRICS_COUNTER);
	assert_string_equal(buf_str(&out),
	                    "# HELP m_total a \"quoted\" back\\\\slash\\nand a line\n"
	                    "# TYPE m_total counter\n");
	buf_reset(&out);
	metrics_write_sample(&out, "plain", NULL, NULL, NULL, 7);
	metrics_write_sample(&out, "h_bucket", NULL, "le", "+Inf", 3);
	assert_string_equal(buf_str(&out), "plain 7\nh_bucket{le=\"+Inf\"} 3\n");
	buf_free(&out);
}

static const double buckets[] = { 0.01, 0.1, 1 };

enum { F_EVENTS, F_GAUGE, F_LATENCY, F_CAPPED };
static const struct metrics_family families[] = {
	[F_EVENTS] = { "t_events_total", "Events.", METRICS_COUNTER, { "event", "stream" } },
	[F_GAUGE] = { "t_in_flight", "In flight.", METRICS_GAUGE },
	[F_LATENCY] = { "t_seconds", "Latency.", METRICS_HISTOGRAM, { "type" }, buckets, 3 },
	[F_CAPPED] = { "t_capped_total", "Capped.", METRICS_COUNTER, { "k" }, .max_series = 2 },
};

static void
a_registry_renders_every_family_sorted(void **state)
{
	struct metrics *m = metrics_new(families, ARRAY_LEN(families));
	const char *send_b[] = { "sent", "b" }, *send_a[] = { "sent", "a" };
	const char *bounce[] = { "bounced", "a" }, *txt[] = { "TXT" };
	struct buf out = BUF_INIT;

	(void)state;
	metrics_add(m, F_EVENTS, send_b, 1);
	metrics_add(m, F_EVENTS, send_a, 2);
	metrics_add(m, F_EVENTS, send_a, 3);
	metrics_add(m, F_EVENTS, bounce, 1);
	metrics_gauge_add(m, F_GAUGE, NULL, 2);
	metrics_gauge_add(m, F_GAUGE, NULL, -1);
	metrics_observe(m, F_LATENCY, txt, 0.005);
	metrics_observe(m, F_LATENCY, txt, 0.1); /* on a bound: counted in it (le) */
	metrics_observe(m, F_LATENCY, txt, 30);
	metrics_render(m, &out);
	assert_string_equal(buf_str(&out), "# HELP t_events_total Events.\n"
	                                   "# TYPE t_events_total counter\n"
	                                   "t_events_total{event=\"bounced\",stream=\"a\"} 1\n"
	                                   "t_events_total{event=\"sent\",stream=\"a\"} 5\n"
	                                   "t_events_total{event=\"sent\",stream=\"b\"} 1\n"
	                                   "# HELP t_in_flight In flight.\n"
	                                   "# TYPE t_in_flight gauge\n"
	                                   "t_in_flight 1\n"
	                                   "# HELP t_seconds Latency.\n"
	                                   "# TYPE t_seconds histogram\n"
	                                   "t_seconds_bucket{type=\"TXT\",le=\"0.01\"} 1\n"
	                                   "t_seconds_bucket{type=\"TXT\",le=\"0.1\"} 2\n"
	                                   "t_seconds_bucket{type=\"TXT\",le=\"1\"} 2\n"
	                                   "t_seconds_bucket{type=\"TXT\",le=\"+Inf\"} 3\n"
	                                   "t_seconds_sum{type=\"TXT\"} 30.105\n"
	                                   "t_seconds_count{type=\"TXT\"} 3\n"
	                                   "# HELP t_capped_total Capped.\n"
	                                   "# TYPE t_capped_total counter\n");
	buf_free(&out);
	metrics_free(m);
}

static void
label_sets_past_the_cap_count_as_other(void **state)
{
	struct metrics *m = metrics_new(families, ARRAY_LEN(families));
	char longer[METRICS_VALUE_MAX + 10];
	const char *k[1];

	(void)state;
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	for (int i = 0; i < 50; i++) {
		char name[16];
		snprintf(name, sizeof(name), "hostile%d", i);
		k[0] = name;
		metrics_add(m, F_CAPPED, k, 1);
	}
	k[0] = "hostile0";
	assert_int_equal(metrics_value(m, F_CAPPED, k), 1);
	k[0] = "hostile1";
	assert_int_equal(metrics_value(m, F_CAPPED, k), 1);
	k[0] = METRICS_OTHER;
	assert_int_equal(metrics_value(m, F_CAPPED, k), 48);
	k[0] = longer;
	metrics_add(m, F_EVENTS, (const char *[]){ longer, "s" }, 1);
	assert_int_equal(metrics_value(m, F_EVENTS, (const char *[]){ "other", "s" }), 1);
	metrics_set(m, F_GAUGE, NULL, 42);
	assert_int_equal(metrics_value(m, F_GAUGE, NULL), 42);
	metrics_free(m);
}

struct worker {
	struct metrics *m;
	int id;
};

static void *
hammer(void *arg)
{
	struct worker *w = arg;
	char stream[8];

	for (int i = 0; i < 20000; i++) {
		snprintf(stream, sizeof(stream), "s%d", (i + w->id) % 8);
		metrics_add(w->m, F_EVENTS, (const char *[]){ "sent", stream }, 1);
		metrics_observe(w->m, F_LATENCY, (const char *[]){ "A" }, 0.05);
	}
	return NULL;
}

static void
concurrent_updates_are_all_counted(void **state)
{
	struct metrics *m = metrics_new(families, ARRAY_LEN(families));
	struct worker w[4];
	pthread_t t[4];
	int64_t total = 0;
	struct buf out = BUF_INIT;

	(void)state;
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ m, i };
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int s = 0; s < 8; s++) {
		char stream[8];
		snprintf(stream, sizeof(stream), "s%d", s);
		total += metrics_value(m, F_EVENTS, (const char *[]){ "sent", stream });
	}
	assert_int_equal(total, 80000);
	metrics_render(m, &out);
	assert_non_null(strstr(buf_str(&out), "t_seconds_count{type=\"A\"} 80000\n"));
	assert_non_null(strstr(buf_str(&out), "t_seconds_bucket{type=\"A\",le=\"0.01\"} 0\n"));
	buf_free(&out);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values_are_spelled_as_the_format_wants),
		cmocka_unit_test(label_values_and_help_are_escaped),
		cmocka_unit_test(a_registry_renders_every_family_sorted),
		cmocka_unit_test(label_sets_past_the_cap_count_as_other),
		cmocka_unit_test(concurrent_updates_are_all_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
