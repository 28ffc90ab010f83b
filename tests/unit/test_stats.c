/*
 * test_stats - the daemon's label values come from the policy alone
 *
 * A stream or From domain the policy defines is its own label value; a
 * "*.parent" signing entry stands for its subdomains; anything else is
 * "other" and a missing one "none"; a verdict counts once, and an
 * outbound reject or tempfail after RCPT is also an outbound outcome.
 */
#include "config.h"

#include <string.h>

#include "milter/stats.h"
#include "tests/unit/unit.h"

static struct policy_stream streams[] = { { .name = "newsletters" } };
static struct policy_domain domains[] = { { .domain = "example.com" },
	                                  { .domain = "*.example.net" } };

static struct policy
test_policy(void)
{
	struct policy p;

	memset(&p, 0, sizeof(p));
	p.streams = streams;
	p.stream_count = 1;
	p.domains = domains;
	p.domain_count = 2;
	return p;
}

static bool
page_has(const struct services *svc, const char *line, bool wanted)
{
	struct buf page = BUF_INIT;
	bool found;

	stats_render(svc, &page);
	found = strstr(buf_str(&page), line) != NULL;
	if (found != wanted)
		print_error("%s: %s\n%s", wanted ? "missing" : "unexpected", line, buf_str(&page));
	buf_free(&page);
	return found;
}

static bool
page_has_line(const struct services *svc, const char *line)
{
	return page_has(svc, line, true);
}

static void
labels_come_from_the_policy(void **state)
{
	struct policy p = test_policy();
	struct services svc = { .metrics = stats_new() };
	static const struct {
		const char *stream, *from, *line;
	} cases[] = {
		{ "newsletters", "Alice <alice@Example.COM>",
		  "{event=\"sent\",stream=\"newsletters\",from_domain=\"example.com\"} 1\n" },
		{ NULL, "bob@mail.example.net",
		  "{event=\"sent\",stream=\"none\",from_domain=\"*.example.net\"} 1\n" },
		{ "x-hostile-stream", "eve@example.net",
		  "{event=\"sent\",stream=\"other\",from_domain=\"other\"} 1\n" },
		{ "", NULL, "{event=\"sent\",stream=\"none\",from_domain=\"none\"} 1\n" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		stats_outbound_for(&svc, &p, STATS_SENT, cases[i].stream, cases[i].from, 1);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		assert_true(page_has_line(&svc, cases[i].line));
	metrics_free(svc.metrics);
}

static void
verdicts_count_once_and_as_outcomes(void **state)
{
	struct policy p = test_policy();
	struct services svc = { .metrics = stats_new() };
	struct msg msg = { .policy = &p, .direction = DIRECTION_OUTBOUND };
	char from[] = "carol@example.com";

	(void)state;
	msg.common[COMMON_FROM] = from;
	stats_verdict(&svc, &msg, "rcpt", SMFIS_REJECT);
	stats_verdict(&svc, &msg, "eoh", SMFIS_CONTINUE);
	stats_verdict(&svc, &msg, "eom", SMFIS_TEMPFAIL);
	stats_message_begin(&svc);
	assert_true(page_has_line(&svc,
	                          "mailward_verdicts_total{direction=\"outbound\",stage=\"rcpt\","
	                          "verdict=\"reject\"} 1\n"));
	assert_true(page_has_line(&svc,
	                          "mailward_verdicts_total{direction=\"outbound\",stage=\"eom\","
	                          "verdict=\"tempfail\"} 1\n"));
	assert_true(page_has_line(&svc, "{event=\"tempfailed\",stream=\"none\","
	                                "from_domain=\"example.com\"} 1\n"));
	assert_false(page_has(&svc, "event=\"rejected\"", false));
	assert_true(page_has_line(&svc, "mailward_messages_in_flight 1\n"));
	stats_message_end(&svc);
	stats_reload(svc.metrics, true);
	assert_true(page_has_line(&svc, "mailward_policy_generation 2\n"));
	assert_true(page_has_line(&svc, "mailward_messages_in_flight 0\n"));
	metrics_free(svc.metrics);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(labels_come_from_the_policy),
		cmocka_unit_test(verdicts_count_once_and_as_outcomes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
