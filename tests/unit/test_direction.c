/*
 * test_direction - outbound or inbound, and the reason logged, table-driven
 *
 * Each case names a policy (loaded from a small policy file, or the
 * defaults), what the MTA told us about the client, and the expected
 * direction with the exact reason text.  The order of the checks is:
 * trusted network, then SMTP AUTH, then daemon name; the first that says
 * "outbound" is the reason reported.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/netaddr.h"
#include "milter/direction.h"
#include "policy/policy.h"
#include "tests/unit/unit.h"

/* Policies the cases refer to; NULL stands for policy_defaults(). */
static const char trusted_nets[] =
    "trusted_networks = [ \"192.0.2.0/24\", \"2001:db8::/32\", \"10.0.0.0/8\" ];\n";
static const char trust_everything[] = "trusted_networks = [ \"0.0.0.0/0\", \"::/0\" ];\n";
static const char trust_nothing[] = "trusted_networks = [ ];\n";
static const char auth_is_not_outbound[] = "outbound = {\n  authenticated = false;\n};\n";
static const char submission_names[] =
    "outbound = {\n  daemon_names = [ \"submission\", \"smtps\" ];\n};\n";
static const char no_daemon_names[] = "outbound = {\n  daemon_names = [ ];\n};\n";

/* Load a policy file that must be valid, or the defaults for NULL. */
static struct policy *
policy_from(const char *text)
{
	char path[PATH_MAX];
	struct buf errors = BUF_INIT;
	struct policy *policy;
	FILE *f;
	int fd;

	if (text == NULL)
		return policy_defaults();
	snprintf(path, sizeof(path), "%s/policy.XXXXXX", unit_tmpdir);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	policy = policy_load(path, &errors);
	unlink(path);
	if (policy == NULL)
		fail_msg("policy refused:\n%s--- errors:\n%s", text, buf_str(&errors));
	buf_free(&errors);
	return policy;
}

struct direction_case {
	const char *name;        /* what the case shows */
	const char *policy;      /* policy file text; NULL: the defaults */
	const char *client;      /* address literal; NULL: the MTA did not say */
	const char *auth_user;   /* {auth_authen} */
	const char *daemon_name; /* {daemon_name} */
	enum direction direction;
	const char *reason;
};

#define OUT DIRECTION_OUTBOUND
#define IN  DIRECTION_INBOUND

static const struct direction_case cases[] = {
	/* trusted_networks */
	{ "IPv4 client in a trusted network", trusted_nets, "192.0.2.25", NULL, NULL, OUT,
	  "reason=trusted_network network=192.0.2.0/24" },
	{ "IPv6 client in a trusted network", trusted_nets, "2001:db8::25", NULL, NULL, OUT,
	  "reason=trusted_network network=2001:db8::/32" },
	{ "IPv4-mapped IPv6 client matches the IPv4 network", trusted_nets, "::ffff:192.0.2.25",
	  NULL, NULL, OUT, "reason=trusted_network network=192.0.2.0/24" },
	{ "the network reported is the one that matched, not the first", trusted_nets, "10.1.2.3",
	  NULL, NULL, OUT, "reason=trusted_network network=10.0.0.0/8" },
	{ "network is reported as written", trust_everything, "203.0.113.7", NULL, NULL, OUT,
	  "reason=trusted_network network=0.0.0.0/0" },
	{ "default trusted loopback, IPv4", NULL, "127.0.0.1", NULL, NULL, OUT,
	  "reason=trusted_network network=127.0.0.0/8" },
	{ "default trusted loopback, IPv6", NULL, "::1", NULL, NULL, OUT,
	  "reason=trusted_network network=::1/128" },
	{ "IPv4 client outside the trusted networks", trusted_nets, "192.0.3.1", NULL, NULL, IN,
	  "reason=untrusted_client" },
	{ "IPv6 client outside the trusted networks", trusted_nets, "2001:db9::1", NULL, NULL, IN,
	  "reason=untrusted_client" },
	{ "IPv4-mapped client outside the trusted networks", trusted_nets, "::ffff:198.51.100.7",
	  NULL, NULL, IN, "reason=untrusted_client" },
	{ "empty trusted_networks trusts nothing, not even loopback", trust_nothing, "127.0.0.1",
	  NULL, NULL, IN, "reason=untrusted_client" },
	{ "unknown client is not trusted, even when everything is", trust_everything, NULL, NULL,
	  NULL, IN, "reason=untrusted_client" },

	/* SMTP AUTH */
	{ "authenticated client is outbound by default", NULL, "203.0.113.7", "alice@example.com",
	  NULL, OUT, "reason=authenticated sasl_username=alice@example.com" },
	{ "authenticated unknown client is outbound", NULL, NULL, "alice", NULL, OUT,
	  "reason=authenticated sasl_username=alice" },
	{ "authentication does not count when outbound.authenticated is false",
	  auth_is_not_outbound, "203.0.113.7", "alice", NULL, IN, "reason=untrusted_client" },
	{ "empty {auth_authen} is not authenticated", NULL, "203.0.113.7", "", NULL, IN,
	  "reason=untrusted_client" },

	/* outbound.daemon_names */
	{ "default daemon name ORIGINATING is outbound", NULL, "203.0.113.7", NULL, "ORIGINATING",
	  OUT, "reason=daemon_name daemon=ORIGINATING" },
	{ "unlisted daemon name is inbound", NULL, "203.0.113.7", NULL, "smtpd", IN,
	  "reason=untrusted_client" },
	{ "daemon name must match exactly", NULL, "203.0.113.7", NULL, "ORIGINATING2", IN,
	  "reason=untrusted_client" },
	{ "configured daemon names replace the default", submission_names, "203.0.113.7", NULL,
	  "smtps", OUT, "reason=daemon_name daemon=smtps" },
	{ "replaced default daemon name is inbound", submission_names, "203.0.113.7", NULL,
	  "ORIGINATING", IN, "reason=untrusted_client" },
	{ "empty daemon_names lists nothing", no_daemon_names, "203.0.113.7", NULL, "ORIGINATING",
	  IN, "reason=untrusted_client" },
	{ "daemon name counts when authentication does not", auth_is_not_outbound, "203.0.113.7",
	  "alice", "ORIGINATING", OUT, "reason=daemon_name daemon=ORIGINATING" },
	{ "daemon name of an unknown client", NULL, NULL, NULL, "ORIGINATING", OUT,
	  "reason=daemon_name daemon=ORIGINATING" },

	/* precedence: the first sign of outbound is the reason */
	{ "trusted network wins over authentication and daemon name", trusted_nets, "192.0.2.25",
	  "alice", "ORIGINATING", OUT, "reason=trusted_network network=192.0.2.0/24" },
	{ "authentication wins over daemon name", NULL, "203.0.113.7", "alice", "ORIGINATING", OUT,
	  "reason=authenticated sasl_username=alice" },

	/* nothing at all */
	{ "untrusted client with nothing else is inbound", NULL, "203.0.113.7", NULL, NULL, IN,
	  "reason=untrusted_client" },
	{ "unknown client with nothing else is inbound", NULL, NULL, NULL, NULL, IN,
	  "reason=untrusted_client" },
};

static void
direction_and_reason_follow_the_policy(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct direction_case *c = &cases[i];
		struct policy *policy = policy_from(c->policy);
		struct sockaddr_storage client;
		struct direction_input in = { NULL, c->auth_user, c->daemon_name };
		char reason[256] = "";
		enum direction got;

		if (c->client != NULL) {
			assert_true(sockaddr_pton(c->client, &client));
			in.client = (const struct sockaddr *)&client;
		}
		got = direction_classify(policy, &in, reason, sizeof(reason));
		policy_release(policy);
		if (got != c->direction || strcmp(reason, c->reason) != 0)
			fail_msg("%s: expected %s \"%s\", got %s \"%s\"", c->name,
			         direction_name(c->direction), c->reason, direction_name(got),
			         reason);
	}
}

static void
direction_names_are_the_log_words(void **state)
{
	(void)state;
	assert_string_equal(direction_name(DIRECTION_OUTBOUND), "outbound");
	assert_string_equal(direction_name(DIRECTION_INBOUND), "inbound");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(direction_and_reason_follow_the_policy),
		cmocka_unit_test(direction_names_are_the_log_words),
	};
	return cmocka_run_group_tests_name("direction", tests, unit_tmpdir_make,
	                                   unit_tmpdir_remove);
}
