/*
 * test_policy - the policy loader, table-driven
 *
 * Every problem in a policy file is reported, in file order, as
 * "FILE:LINE: SETTING: problem", and any problem means no policy.  The
 * error tables hold a policy file and the whole expected error output, with
 * FILE standing for the temporary file's path.  Then: values land where the
 * settings table says, an empty file and the documented sample are the
 * defaults, and the installed snapshot lives until its last user lets go.
 */
#include "config.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/spool.h"
#include "policy/policy.h"
#include "policy/sample.h"
#include "policy/settings.h"
#include "tests/unit/unit.h"

static char dir[] = "/tmp/mw-policy.XXXXXX";

/* A private key file, mode 0600, for the signing table. */
static int
write_key(const char *name, const char *type, unsigned mode)
{
	char path[PATH_MAX];
	EVP_PKEY *key = strcmp(type, "RSA") == 0
	                    ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024)
	                    : EVP_PKEY_Q_keygen(NULL, NULL, type);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (key == NULL || f == NULL || !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL))
		return -1;
	fclose(f);
	EVP_PKEY_free(key);
	return chmod(path, mode);
}

/* A VERP secret of len bytes. */
static int
write_secret(const char *name, size_t len, unsigned mode)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	for (size_t i = 0; i < len; i++)
		fputc((int)('a' + i % 26), f);
	fclose(f);
	return chmod(path, mode);
}

static int
make_dir(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	return write_key("example.com.pem", "RSA", 0600) |
	       write_key("example.org.pem", "ED25519", 0600) |
	       write_key("open.pem", "ED25519", 0644) | write_secret("verp.key", 32, 0600) |
	       write_secret("short.key", 8, 0600) | write_secret("open.key", 32, 0644) |
	       write_key("group.pem", "ED25519", 0640) | write_key("group-rsa.pem", "RSA", 0640) |
	       write_secret("group.key", 32, 0640) | write_secret("read-only.key", 32, 0400) |
	       write_secret("group-writable.key", 32, 0620);
}

/* Whatever a failed test left behind, then the directory. */
static int
remove_dir(void **state)
{
	(void)state;
	return unit_remove_tree(dir);
}

/* text with every "@KEYS@" replaced by the directory holding the test keys. */
static void
expand_keys(const char *text, struct buf *out)
{
	const char *p = text, *hit;

	while ((hit = strstr(p, "@KEYS@")) != NULL) {
		buf_append(out, p, (size_t)(hit - p));
		buf_puts(out, dir);
		p = hit + 6;
	}
	buf_puts(out, p);
}

/* A new file in the test directory holding text; its path lands in path. */
static void
file_write(const char *text, char *path, size_t pathlen)
{
	struct buf expanded = BUF_INIT;
	int fd;
	FILE *f;

	snprintf(path, pathlen, "%s/policy.XXXXXX", dir);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	expand_keys(text, &expanded);
	fputs(buf_str(&expanded), f);
	buf_free(&expanded);
	assert_int_equal(fclose(f), 0);
}

/* Load text as a policy file; the file is gone again when this returns. */
static struct policy *
load_text(const char *text, char *path, size_t pathlen, struct buf *errors)
{
	struct policy *policy;

	file_write(text, path, pathlen);
	policy = policy_load(path, errors);
	unlink(path);
	return policy;
}

/* Load text that must be valid. */
static struct policy *
load_valid(const char *text)
{
	char path[PATH_MAX];
	struct buf errors = BUF_INIT;
	struct policy *policy = load_text(text, path, sizeof(path), &errors);

	if (policy == NULL || errors.len != 0)
		fail_msg("valid policy refused:\n%s--- errors:\n%s", text, buf_str(&errors));
	buf_free(&errors);
	return policy;
}

/* expected with every "FILE" replaced by path and "@KEYS@" by the key directory. */
static void
expand_file(const char *expected, const char *path, struct buf *out)
{
	struct buf keys = BUF_INIT;
	const char *p, *hit;

	expand_keys(expected, &keys);
	p = buf_str(&keys);
	while ((hit = strstr(p, "FILE")) != NULL) {
		buf_append(out, p, (size_t)(hit - p));
		buf_puts(out, path);
		p = hit + 4;
	}
	buf_puts(out, p);
	buf_free(&keys);
}

struct error_case {
	const char *name;     /* what the case shows */
	const char *text;     /* the policy file */
	const char *expected; /* the whole error output; FILE stands for the file's path */
};

static void
expect_errors(const struct error_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct error_case *c = &cases[i];
		struct buf errors = BUF_INIT, expected = BUF_INIT;
		char path[PATH_MAX];
		struct policy *policy;

		policy = load_text(c->text, path, sizeof(path), &errors);
		expand_file(c->expected, path, &expected);
		if (policy != NULL) {
			policy_release(policy);
			fail_msg("%s: loaded, expected errors:\n%s", c->name, buf_str(&expected));
		}
		if (strcmp(buf_str(&errors), buf_str(&expected)) != 0)
			fail_msg("%s:\n--- expected:\n%s--- got:\n%s", c->name, buf_str(&expected),
			         buf_str(&errors));
		buf_free(&errors);
		buf_free(&expected);
	}
}

#define EXPECT_ERRORS(table) expect_errors((table), ARRAY_LEN(table))

/* Long values, spelt out once. */
#define A10           "aaaaaaaaaa"
#define A60           A10 A10 A10 A10 A10 A10
#define A100          A60 A10 A10 A10 A10
#define UNIX_PATH_107 "/" A100 "aaaaaa"  /* the longest sun_path that fits */
#define UNIX_PATH_108 "/" A100 "aaaaaaa" /* one byte too long */
#define LABEL_63      A60 "aaa"
#define LABEL_64      A60 "aaaa"

/* ---------------------------------------------------------------- errors */

static const struct error_case unknown_cases[] = {
	{ "unknown setting at top level", "colour = \"blue\";\n",
	  "FILE:1: colour: unknown setting\n" },
	{ "unknown setting inside a group",
	  "daemon = {\n"
	  "  socket = \"unix:/run/mailward/mailward.sock\";\n"
	  "  colour = \"blue\";\n"
	  "};\n",
	  "FILE:3: daemon.colour: unknown setting\n" },
	{ "misspelt setting", "daemon = {\n  timout = 30;\n};\n",
	  "FILE:2: daemon.timout: unknown setting\n" },
	{ "unknown group is one error, its contents are not looked at",
	  "colours = {\n  red = 1;\n  green = \"x\";\n};\n", "FILE:1: colours: unknown setting\n" },
	{ "setting of one group inside another", "log = {\n  timeout = 30;\n};\n",
	  "FILE:2: log.timeout: unknown setting\n" },
	{ "group-list child at top level", "selector = \"mw1\";\n",
	  "FILE:1: selector: unknown setting\n" },
};

static void
unknown_setting_is_an_error_with_file_and_line(void **state)
{
	(void)state;
	EXPECT_ERRORS(unknown_cases);
}

static const struct error_case type_cases[] = {
	{ "bool given a string", "outbound = {\n  authenticated = \"yes\";\n};\n",
	  "FILE:2: outbound.authenticated: expected true or false, not a string\n" },
	{ "bool given an integer", "outbound = {\n  authenticated = 1;\n};\n",
	  "FILE:2: outbound.authenticated: expected true or false, not an integer\n" },
	{ "int given a string", "daemon = {\n  timeout = \"30\";\n};\n",
	  "FILE:2: daemon.timeout: expected an integer, not a string\n" },
	{ "int given a float", "daemon = {\n  timeout = 1.5;\n};\n",
	  "FILE:2: daemon.timeout: expected an integer, not a floating-point number\n" },
	{ "int given a bool", "daemon = {\n  listen_backlog = true;\n};\n",
	  "FILE:2: daemon.listen_backlog: expected an integer, not a boolean\n" },
	{ "string given an int", "daemon = {\n  socket = 8891;\n};\n",
	  "FILE:2: daemon.socket: expected a string, not an integer\n" },
	{ "string given a 64-bit int", "store = {\n  path = 5L;\n};\n",
	  "FILE:2: store.path: expected a string, not an integer\n" },
	{ "string given an array", "inbound = {\n  authserv_id = [ \"mx\" ];\n};\n",
	  "FILE:2: inbound.authserv_id: expected a string, not an array [ ... ]\n" },
	{ "choice given an int", "log = {\n  level = 7;\n};\n",
	  "FILE:2: log.level: expected a string, not an integer\n" },
	{ "choice given a bool", "events = {\n  durability = false;\n};\n",
	  "FILE:2: events.durability: expected a string, not a boolean\n" },
	{ "string list given a string", "trusted_networks = \"127.0.0.0/8\";\n",
	  "FILE:1: trusted_networks: expected an array of strings [ \"...\", ... ], not a "
	  "string\n" },
	{ "string list given a group", "outbound = {\n  daemon_names = { a = 1; };\n};\n",
	  "FILE:2: outbound.daemon_names: expected an array of strings [ \"...\", ... ], not a "
	  "group { ... }\n" },
	{ "group given a scalar", "daemon = \"unix:/run/mailward/mailward.sock\";\n",
	  "FILE:1: daemon: expected a group { ... }, not a string\n" },
	{ "group given an array", "log = [ \"debug\" ];\n",
	  "FILE:1: log: expected a group { ... }, not an array [ ... ]\n" },
	{ "group list given a group", "domains = {\n  domain = \"example.com\";\n};\n",
	  "FILE:1: domains: expected a list of groups ( { ... }, ... ), not a group { ... }\n" },
	{ "group list given an array", "streams = [ ];\n",
	  "FILE:1: streams: expected a list of groups ( { ... }, ... ), not an array [ ... ]\n" },
};

static void
wrong_type_is_an_error_naming_expected_and_found(void **state)
{
	(void)state;
	EXPECT_ERRORS(type_cases);
}

static const struct error_case range_cases[] = {
	{ "below the minimum", "daemon = {\n  timeout = 0;\n};\n",
	  "FILE:2: daemon.timeout: 0 is out of range (1 to 86400)\n" },
	{ "above the maximum", "daemon = {\n  timeout = 86401;\n};\n",
	  "FILE:2: daemon.timeout: 86401 is out of range (1 to 86400)\n" },
	{ "negative", "events = {\n  max_header_bytes = -1;\n};\n",
	  "FILE:2: events.max_header_bytes: -1 is out of range (0 to 1048576)\n" },
	{ "above a 16-bit maximum", "daemon = {\n  listen_backlog = 65536;\n};\n",
	  "FILE:2: daemon.listen_backlog: 65536 is out of range (1 to 65535)\n" },
	{ "Redis timeout below 10 ms", "store = {\n  redis_timeout_ms = 5;\n};\n",
	  "FILE:2: store.redis_timeout_ms: 5 is out of range (10 to 60000)\n" },
	{ "64-bit value", "daemon = {\n  timeout = 99999999999L;\n};\n",
	  "FILE:2: daemon.timeout: 99999999999 is out of range (1 to 86400)\n" },
	{ "inside a group-list element", "streams = (\n  { name = \"news\"; min_sends = 0; }\n);\n",
	  "FILE:2: streams[1].min_sends: 0 is out of range (1 to 1000000000)\n" },
	/* libconfig 1.5 would wrap these to 5 and 0: load.c catches them. */
	{ "decimal beyond 32 bits without the L suffix",
	  "daemon = {\n  timeout = 4294967301;\n};\n",
	  "FILE:2: daemon.timeout: 4294967301 is out of range (1 to 86400)\n" },
	{ "hexadecimal beyond 32 bits without the L suffix",
	  "daemon = {\n  listen_backlog = 0x100000000; # 99999999999 in a comment\n};\n",
	  "FILE:2: daemon.listen_backlog: 0x100000000 is out of range (1 to 65535)\n" },
};

static void
out_of_range_number_is_an_error_with_the_range(void **state)
{
	(void)state;
	EXPECT_ERRORS(range_cases);
}

static const struct error_case choice_cases[] = {
	{ "log level", "log = {\n  level = \"verbose\";\n};\n",
	  "FILE:2: log.level: \"verbose\" is not one of: error, warning, notice, info, debug\n" },
	{ "choices are case-sensitive", "log = {\n  level = \"DEBUG\";\n};\n",
	  "FILE:2: log.level: \"DEBUG\" is not one of: error, warning, notice, info, debug\n" },
	{ "log destination", "log = {\n  to = \"file\";\n};\n",
	  "FILE:2: log.to: \"file\" is not one of: syslog, stderr\n" },
	{ "store backend", "store = {\n  backend = \"mysql\";\n};\n",
	  "FILE:2: store.backend: \"mysql\" is not one of: sqlite, redis\n" },
	{ "syslog facility", "log = {\n  facility = \"local8\";\n};\n",
	  "FILE:2: log.facility: \"local8\" is not one of: mail, daemon, local0, local1, local2, "
	  "local3, local4, local5, local6, local7\n" },
	{ "failure action", "failure = {\n  spool_unwritable = \"drop\";\n};\n",
	  "FILE:2: failure.spool_unwritable: \"drop\" is not one of: accept, tempfail, reject\n" },
	{ "durability", "events = {\n  durability = \"sync\";\n};\n",
	  "FILE:2: events.durability: \"sync\" is not one of: fsync, none\n" },
	{ "event shape", "events = {\n  shape = \"\";\n};\n",
	  "FILE:2: events.shape: \"\" is not one of: event, notification\n" },
	{ "signing algorithm in a group-list element",
	  "domains = (\n"
	  "  { domain = \"example.com\"; selector = \"mw1\"; key = \"/k.pem\";\n"
	  "    algorithm = \"rsa-sha1\"; }\n"
	  ");\n",
	  "FILE:3: domains[1].algorithm: \"rsa-sha1\" is not one of: rsa-sha256, "
	  "ed25519-sha256\n" },
};

static void
invalid_choice_is_an_error_listing_the_choices(void **state)
{
	(void)state;
	EXPECT_ERRORS(choice_cases);
}

static const struct error_case validator_cases[] = {
	/* reputation limits */
	{ "a rate without a percent sign",
	  "streams = (\n  { name = \"news\"; pause_complaint_rate = \"0.3\"; }\n);\n",
	  "FILE:2: streams[1].pause_complaint_rate: \"0.3\": expected a percentage such as "
	  "\"0.3%\" (at most three decimals, up to 100%) or \"0\" for none\n" },
	{ "a window that is not whole hours", "reputation = {\n  window = \"90m\";\n};\n",
	  "FILE:2: reputation.window: \"90m\": expected whole hours or days from \"1h\" to "
	  "\"7d\"\n" },
	{ "a window longer than the store keeps", "reputation = {\n  window = \"8d\";\n};\n",
	  "FILE:2: reputation.window: \"8d\": expected whole hours or days from \"1h\" to "
	  "\"7d\"\n" },
	{ "an auto_resume without a unit",
	  "streams = (\n  { name = \"news\"; auto_resume = \"10\"; }\n);\n",
	  "FILE:2: streams[1].auto_resume: \"10\": expected a number and a unit (s, m, h, d) "
	  "such as \"6h\", or \"0\"\n" },
	/* milter socket */
	{ "unix socket with a relative path", "daemon = {\n  socket = \"unix:run/m.sock\";\n};\n",
	  "FILE:2: daemon.socket: \"unix:run/m.sock\": a unix socket needs an absolute path\n" },
	{ "local socket with a relative path", "daemon = {\n  socket = \"local:m.sock\";\n};\n",
	  "FILE:2: daemon.socket: \"local:m.sock\": a unix socket needs an absolute path\n" },
	{ "unix socket path too long", "daemon = {\n  socket = \"unix:" UNIX_PATH_108 "\";\n};\n",
	  "FILE:2: daemon.socket: \"unix:" UNIX_PATH_108 "\": unix socket path longer than 107 "
	  "bytes\n" },
	{ "inet socket without a host", "daemon = {\n  socket = \"inet:8891\";\n};\n",
	  "FILE:2: daemon.socket: \"inet:8891\": expected inet:PORT@HOST or inet6:PORT@HOST\n" },
	{ "inet socket with an empty host", "daemon = {\n  socket = \"inet:8891@\";\n};\n",
	  "FILE:2: daemon.socket: \"inet:8891@\": expected inet:PORT@HOST or inet6:PORT@HOST\n" },
	{ "inet socket without a port", "daemon = {\n  socket = \"inet:@localhost\";\n};\n",
	  "FILE:2: daemon.socket: \"inet:@localhost\": expected inet:PORT@HOST or "
	  "inet6:PORT@HOST\n" },
	{ "port 0", "daemon = {\n  socket = \"inet:0@127.0.0.1\";\n};\n",
	  "FILE:2: daemon.socket: \"inet:0@127.0.0.1\": expected inet:PORT@HOST or "
	  "inet6:PORT@HOST\n" },
	{ "port 65536", "daemon = {\n  socket = \"inet6:65536@::1\";\n};\n",
	  "FILE:2: daemon.socket: \"inet6:65536@::1\": expected inet:PORT@HOST or "
	  "inet6:PORT@HOST\n" },
	{ "port by service name", "daemon = {\n  socket = \"inet:milter@localhost\";\n};\n",
	  "FILE:2: daemon.socket: \"inet:milter@localhost\": expected inet:PORT@HOST or "
	  "inet6:PORT@HOST\n" },
	{ "unknown socket scheme", "daemon = {\n  socket = \"tcp:8891@localhost\";\n};\n",
	  "FILE:2: daemon.socket: \"tcp:8891@localhost\": expected unix:/path, inet:PORT@HOST or "
	  "inet6:PORT@HOST\n" },
	{ "bare path as socket", "daemon = {\n  socket = \"/run/m.sock\";\n};\n",
	  "FILE:2: daemon.socket: \"/run/m.sock\": expected unix:/path, inet:PORT@HOST or "
	  "inet6:PORT@HOST\n" },
	/* octal mode */
	{ "mode with a digit that is not octal", "daemon = {\n  socket_mode = \"0999\";\n};\n",
	  "FILE:2: daemon.socket_mode: \"0999\": expected an octal mode such as \"0660\"\n" },
	{ "symbolic mode", "daemon = {\n  socket_mode = \"rw\";\n};\n",
	  "FILE:2: daemon.socket_mode: \"rw\": expected an octal mode such as \"0660\"\n" },
	{ "mode beyond 0777", "daemon = {\n  socket_mode = \"01000\";\n};\n",
	  "FILE:2: daemon.socket_mode: \"01000\": expected an octal mode such as \"0660\"\n" },
	{ "empty mode", "daemon = {\n  socket_mode = \"\";\n};\n",
	  "FILE:2: daemon.socket_mode: \"\": expected an octal mode such as \"0660\"\n" },
	/* CIDR */
	{ "network with host bits set", "trusted_networks = [ \"192.0.2.1/24\" ];\n",
	  "FILE:1: trusted_networks: \"192.0.2.1/24\": address has bits set beyond the /24 "
	  "prefix\n" },
	{ "IPv4 prefix too long", "trusted_networks = [ \"192.0.2.0/33\" ];\n",
	  "FILE:1: trusted_networks: \"192.0.2.0/33\": prefix length must be 0 to 32\n" },
	{ "IPv6 prefix too long", "trusted_networks = [ \"2001:db8::/129\" ];\n",
	  "FILE:1: trusted_networks: \"2001:db8::/129\": prefix length must be 0 to 128\n" },
	{ "host name as network", "trusted_networks = [ \"localhost\" ];\n",
	  "FILE:1: trusted_networks: \"localhost\" is not an IP address or network\n" },
	/* DNS servers */
	{ "name server by host name", "dns = {\n  nameservers = [ \"ns1.example.com\" ];\n};\n",
	  "FILE:2: dns.nameservers: \"ns1.example.com\" is not a DNS server address (ADDR or "
	  "ADDR@PORT)\n" },
	{ "name server port out of range",
	  "dns = {\n  nameservers = [ \"127.0.0.1@70000\" ];\n};\n",
	  "FILE:2: dns.nameservers: \"127.0.0.1@70000\" is not a DNS server address (ADDR or "
	  "ADDR@PORT)\n" },
	{ "query timeout below 10 ms", "dns = {\n  query_timeout_ms = 1;\n};\n",
	  "FILE:2: dns.query_timeout_ms: 1 is out of range (10 to 60000)\n" },
	{ "unknown inbound mode", "inbound = {\n  mode = \"strict\";\n};\n",
	  "FILE:2: inbound.mode: \"strict\" is not one of: enforce, monitor, off\n" },
	/* unsubscribe */
	{ "unsubscribe url without a scheme",
	  "unsubscribe = {\n  url = \"mail.example.com/u/\";\n};\n",
	  "FILE:2: unsubscribe.url: \"mail.example.com/u/\" is not an http:// or https:// URL\n" },
	/* domain names */
	{ "domain starting with a hyphen",
	  "feedback = {\n  bounce_domains = [ \"-bounces.example.com\" ];\n};\n",
	  "FILE:2: feedback.bounce_domains: \"-bounces.example.com\" is not a valid domain "
	  "name\n" },
	{ "domain with an empty label",
	  "feedback = {\n  bounce_domains = [ \"bounces..example.com\" ];\n};\n",
	  "FILE:2: feedback.bounce_domains: \"bounces..example.com\" is not a valid domain "
	  "name\n" },
	{ "domain with a space",
	  "feedback = {\n  bounce_domains = [ \"bounces example.com\" ];\n};\n",
	  "FILE:2: feedback.bounce_domains: \"bounces example.com\" is not a valid domain name\n" },
	{ "domain label of 64 bytes",
	  "feedback = {\n  bounce_domains = [ \"" LABEL_64 ".example\" ];\n};\n",
	  "FILE:2: feedback.bounce_domains: \"" LABEL_64
	  ".example\" is not a valid domain name\n" },
	{ "empty domain", "feedback = {\n  bounce_domains = [ \"\" ];\n};\n",
	  "FILE:2: feedback.bounce_domains: \"\" is not a valid domain name\n" },
	/* mail addresses */
	{ "address without @", "feedback = {\n  complaint_addresses = [ \"postmaster\" ];\n};\n",
	  "FILE:2: feedback.complaint_addresses: \"postmaster\" is not a mail address "
	  "(local@domain)\n" },
	{ "address without local part",
	  "feedback = {\n  complaint_addresses = [ \"@example.com\" ];\n};\n",
	  "FILE:2: feedback.complaint_addresses: \"@example.com\" is not a mail address "
	  "(local@domain)\n" },
	{ "address with a bad domain",
	  "feedback = {\n  complaint_addresses = [ \"fbl@exa mple.com\" ];\n};\n",
	  "FILE:2: feedback.complaint_addresses: \"fbl@exa mple.com\" is not a mail address "
	  "(local@domain)\n" },
	/* absolute paths */
	{ "relative pid file", "daemon = {\n  pid_file = \"run/mailward.pid\";\n};\n",
	  "FILE:2: daemon.pid_file: \"run/mailward.pid\" must be an absolute path\n" },
	{ "relative spool directory", "events = {\n  spool_dir = \"spool\";\n};\n",
	  "FILE:2: events.spool_dir: \"spool\" must be an absolute path\n" },
	{ "empty spool directory", "events = {\n  spool_dir = \"\";\n};\n",
	  "FILE:2: events.spool_dir: \"\" must be an absolute path\n" },
	{ "relative store path", "store = {\n  path = \"mailward.db\";\n};\n",
	  "FILE:2: store.path: \"mailward.db\" must be an absolute path\n" },
	/* the store's Redis */
	{ "Redis address without a port", "store = {\n  redis = \"localhost\";\n};\n",
	  "FILE:2: store.redis: \"localhost\": expected HOST:PORT, [IPv6]:PORT or unix:/path\n" },
	{ "Redis unix socket with a relative path",
	  "store = {\n  redis = \"unix:redis.sock\";\n};\n",
	  "FILE:2: store.redis: \"unix:redis.sock\": expected unix:/absolute/path (at most 107 "
	  "bytes)\n" },
	{ "Redis key prefix with a space", "store = {\n  redis_prefix = \"mail ward:\";\n};\n",
	  "FILE:2: store.redis_prefix: \"mail ward:\": spaces and control characters are not "
	  "allowed\n" },
	/* tokens */
	{ "daemon name with a space", "outbound = {\n  daemon_names = [ \"ORIG INATING\" ];\n};\n",
	  "FILE:2: outbound.daemon_names: \"ORIG INATING\": spaces and control characters are not "
	  "allowed\n" },
	{ "empty daemon name", "outbound = {\n  daemon_names = [ \"\" ];\n};\n",
	  "FILE:2: outbound.daemon_names: must not be empty\n" },
};

static void
invalid_value_is_an_error_saying_what_is_expected(void **state)
{
	(void)state;
	EXPECT_ERRORS(validator_cases);
}

/*
 * libconfig 1.5 records a scalar list item at the line of the token after
 * it: an item alone on the last line before "]" or ")" is reported at the
 * line of the bracket.  The cases keep the closing bracket on the line of
 * the last item so they hold whichever way that goes.
 */
static const struct error_case list_item_cases[] = {
	{ "array of integers", "trusted_networks = [ 5 ];\n",
	  "FILE:1: trusted_networks: item 1 must be a string, not an integer\n" },
	{ "array mixing strings and integers is a libconfig syntax error",
	  "trusted_networks = [ \"10.0.0.0/8\", 5 ];\n",
	  "FILE:1: syntax error: mismatched element type in array\n" },
	{ "list with an integer item", "trusted_networks = ( \"10.0.0.0/8\", 5 );\n",
	  "FILE:1: trusted_networks: item 2 must be a string, not an integer\n" },
	{ "list with a group item",
	  "outbound = {\n  daemon_names = ( \"ORIGINATING\", { } );\n};\n",
	  "FILE:2: outbound.daemon_names: item 2 must be a string, not a group { ... }\n" },
	{ "each bad item on its own line",
	  "trusted_networks = [\n"
	  "  \"10.0.0.1/8\",\n"
	  "  \"192.0.2.0/24\",\n"
	  "  \"localhost\" ];\n",
	  "FILE:2: trusted_networks: \"10.0.0.1/8\": address has bits set beyond the /8 prefix\n"
	  "FILE:4: trusted_networks: \"localhost\" is not an IP address or network\n" },
};

static void
bad_list_item_is_an_error_with_its_own_line(void **state)
{
	(void)state;
	EXPECT_ERRORS(list_item_cases);
}

#define WEBHOOK_FIELDS                                                                             \
	"    topic_arn = \"arn:aws:sns:local:1:ev\"; signing_key = \"@KEYS@/example.com.pem\";\n"  \
	"    signing_cert_url = \"https://example.com/c.pem\";\n"

static const struct error_case group_list_cases[] = {
	{ "element missing required fields",
	  "domains = (\n"
	  "  { domain = \"example.com\"; }\n"
	  ");\n",
	  "FILE:2: domains[1]: \"selector\" is required\n"
	  "FILE:2: domains[1]: \"key\" is required\n" },
	{ "empty element", "streams = (\n  { }\n);\n",
	  "FILE:2: streams[1]: \"name\" is required\n" },
	{ "element that is not a group", "domains = ( \"example.com\" );\n",
	  "FILE:1: domains[1]: expected a group { ... }, not a string\n" },
	{ "element that is a list", "domains = ( ( ) );\n",
	  "FILE:1: domains[1]: expected a group { ... }, not a list ( ... )\n" },
	{ "unknown key in the first element",
	  "domains = (\n"
	  "  { domain = \"example.com\"; selector = \"mw1\"; key = \"/k.pem\"; colour = 1; }\n"
	  ");\n",
	  "FILE:2: domains[1].colour: unknown setting\n" },
	{ "unknown key in a later element is named by its index",
	  "domains = (\n"
	  "  { domain = \"example.com\"; selector = \"mw1\"; key = \"@KEYS@/example.com.pem\"; },\n"
	  "  { domain = \"example.org\"; selector = \"mw1\"; key = \"/k2.pem\";\n"
	  "    colour = 1; }\n"
	  ");\n",
	  "FILE:4: domains[2].colour: unknown setting\n" },
	{ "invalid fields of an element",
	  "domains = (\n"
	  "  {\n"
	  "    domain = \"example..com\";\n"
	  "    selector = \"mw 1\";\n"
	  "    key = \"keys/example.com.pem\";\n"
	  "  }\n"
	  ");\n",
	  "FILE:3: domains[1].domain: \"example..com\" is not a valid domain name\n"
	  "FILE:4: domains[1].selector: \"mw 1\": spaces and control characters are not allowed\n"
	  "FILE:5: domains[1].key: \"keys/example.com.pem\" must be an absolute path\n" },
	{ "a wrongly typed required field is one error, not also missing",
	  "streams = (\n  { name = 5; }\n);\n",
	  "FILE:2: streams[1].name: expected a string, not an integer\n" },
	{ "every element is checked",
	  "streams = (\n"
	  "  { name = \"\"; },\n"
	  "  \"bulk\",\n"
	  "  { bulk = 1; }\n"
	  ");\n",
	  "FILE:2: streams[1].name: must not be empty\n"
	  "FILE:3: streams[2]: expected a group { ... }, not a string\n"
	  "FILE:4: streams[3]: \"name\" is required\n"
	  "FILE:4: streams[3].bulk: expected true or false, not an integer\n" },
	{ "a private key others can read is refused",
	  "domains = (\n"
	  "  { domain = \"example.com\"; selector = \"ed\"; key = \"@KEYS@/open.pem\";\n"
	  "    algorithm = \"ed25519-sha256\"; }\n"
	  ");\n",
	  "FILE:2: domains[1]: @KEYS@/open.pem: private key is readable by others (mode 0644); "
	  "chmod 600 @KEYS@/open.pem (owned by the user mailward runs as) and keep it secret\n" },
	{ "a private key its group can read is refused",
	  "domains = (\n"
	  "  { domain = \"example.com\"; selector = \"ed\"; key = \"@KEYS@/group.pem\";\n"
	  "    algorithm = \"ed25519-sha256\"; }\n"
	  ");\n",
	  "FILE:2: domains[1]: @KEYS@/group.pem: private key is readable by its group (mode 0640); "
	  "chmod 600 @KEYS@/group.pem (owned by the user mailward runs as) and keep it secret\n" },
	{ "a key of the wrong algorithm is refused",
	  "domains = (\n"
	  "  { domain = \"example.com\"; selector = \"mw1\"; key = \"@KEYS@/example.org.pem\"; }\n"
	  ");\n",
	  "FILE:2: domains[1]: @KEYS@/example.org.pem: algorithm rsa-sha256 needs an RSA key\n" },
	{ "a VERP secret shorter than 16 bytes is refused",
	  "feedback = {\n"
	  "  verp_keys = ( { id = 1; file = \"@KEYS@/short.key\"; } );\n"
	  "};\n",
	  "FILE:2: feedback.verp_keys[1]: @KEYS@/short.key: a secret needs at least 16 bytes "
	  "(head -c 32 /dev/urandom > @KEYS@/short.key)\n" },
	{ "a VERP secret others can read is refused",
	  "feedback = {\n"
	  "  verp_keys = ( { id = 1; file = \"@KEYS@/open.key\"; } );\n"
	  "};\n",
	  "FILE:2: feedback.verp_keys[1]: @KEYS@/open.key: secret is readable by others "
	  "(mode 0644); chmod 600 @KEYS@/open.key (owned by the user mailward runs as) and keep "
	  "it secret\n" },
	{ "a VERP secret its group can read is refused",
	  "feedback = {\n"
	  "  verp_keys = ( { id = 1; file = \"@KEYS@/group.key\"; } );\n"
	  "};\n",
	  "FILE:2: feedback.verp_keys[1]: @KEYS@/group.key: secret is readable by its group "
	  "(mode 0640); chmod 600 @KEYS@/group.key (owned by the user mailward runs as) and keep "
	  "it secret\n" },
	{ "a VERP secret its group can write is refused",
	  "feedback = {\n"
	  "  verp_keys = ( { id = 1; file = \"@KEYS@/group-writable.key\"; } );\n"
	  "};\n",
	  "FILE:2: feedback.verp_keys[1]: @KEYS@/group-writable.key: secret is writable by its "
	  "group (mode 0620); chmod 600 @KEYS@/group-writable.key (owned by the user mailward "
	  "runs as) and keep it secret\n" },
	{ "a custom MAIL FROM needs a VERP secret",
	  "mail_from = ( { domain = \"example.com\"; bounce_domain = \"b.example.com\"; } );\n",
	  "FILE: mail_from: needs a secret for bounce tokens in feedback.verp_keys\n" },
	{ "unsubscribe links need a VERP secret",
	  "unsubscribe = { url = \"https://mail.example.com/u/\"; };\n",
	  "FILE: unsubscribe: needs a secret for its tokens in feedback.verp_keys\n" },
	{ "two VERP secrets with one id",
	  "feedback = {\n"
	  "  verp_keys = ( { id = 3; file = \"@KEYS@/verp.key\"; },\n"
	  "                { id = 3; file = \"@KEYS@/verp.key\"; } );\n"
	  "};\n",
	  "FILE: feedback.verp_keys: id 3 is used twice\n" },
	{ "a webhook URL that is not http(s)",
	  "webhooks = (\n  { name = \"w\"; url = \"ftp://example.com/\";\n" WEBHOOK_FIELDS
	  "  }\n);\n",
	  "FILE:2: webhooks[1].url: \"ftp://example.com/\" must start with https:// or http://\n" },
	{ "a webhook URL without a host",
	  "webhooks = (\n  { name = \"w\"; url = \"https:///x\";\n" WEBHOOK_FIELDS "  }\n);\n",
	  "FILE:2: webhooks[1].url: \"https:///x\" has no host\n" },
	{ "plain http to a host that is not loopback",
	  "webhooks = (\n  { name = \"w\"; url = \"http://hooks.example.com/\";\n" WEBHOOK_FIELDS
	  "  }\n);\n",
	  "FILE:2: webhooks[1]: http://hooks.example.com/: plain http to a host that is not "
	  "loopback; use https:// (or allow_http = true)\n" },
	{ "plain http to a loopback-looking name that is not loopback",
	  "webhooks = (\n  { name = \"w\"; url = "
	  "\"http://localhost.example.com/\";\n" WEBHOOK_FIELDS "  }\n);\n",
	  "FILE:2: webhooks[1]: http://localhost.example.com/: plain http to a host that is not "
	  "loopback; use https:// (or allow_http = true)\n" },
	{ "a webhook signing key that is not RSA",
	  "webhooks = (\n  { name = \"w\"; url = \"https://h.example.com/\"; topic_arn = \"t\";\n"
	  "    signing_key = \"@KEYS@/example.org.pem\"; signing_cert_url = "
	  "\"https://h.example.com/c\"; }\n);\n",
	  "FILE:2: webhooks[1]: @KEYS@/example.org.pem: algorithm rsa-sha256 needs an RSA key\n" },
	{ "a webhook signing key others can read",
	  "webhooks = (\n  { name = \"w\"; url = \"https://h.example.com/\"; topic_arn = \"t\";\n"
	  "    signing_key = \"@KEYS@/open.pem\"; signing_cert_url = \"https://h.example.com/c\"; "
	  "}\n);\n",
	  "FILE:2: webhooks[1]: @KEYS@/open.pem: private key is readable by others (mode 0644); "
	  "chmod 600 @KEYS@/open.pem (owned by the user mailward runs as) and keep it secret\n" },
	{ "a webhook signing key its group can read",
	  "webhooks = (\n  { name = \"w\"; url = \"https://h.example.com/\"; topic_arn = \"t\";\n"
	  "    signing_key = \"@KEYS@/group-rsa.pem\"; signing_cert_url = "
	  "\"https://h.example.com/c\"; }\n);\n",
	  "FILE:2: webhooks[1]: @KEYS@/group-rsa.pem: private key is readable by its group (mode "
	  "0640); chmod 600 @KEYS@/group-rsa.pem (owned by the user mailward runs as) and keep it "
	  "secret\n" },
	{ "webhook attempts, hours and timeout out of range",
	  "webhooks = (\n  { name = \"w\"; url = \"https://h.example.com/\";\n" WEBHOOK_FIELDS
	  "    max_attempts = 0; max_hours = 0; timeout = 0; }\n);\n",
	  "FILE:5: webhooks[1].max_attempts: 0 is out of range (1 to 100000)\n"
	  "FILE:5: webhooks[1].max_hours: 0 is out of range (1 to 8760)\n"
	  "FILE:5: webhooks[1].timeout: 0 is out of range (1 to 600)\n" },
	{ "webhook retry delays the wrong way round",
	  "webhooks = (\n  { name = \"w\"; url = \"https://h.example.com/\";\n" WEBHOOK_FIELDS
	  "    retry_min_ms = 5000; retry_max_ms = 100; }\n);\n",
	  "FILE:2: webhooks[1]: retry_max_ms (100) is less than retry_min_ms (5000)\n" },
	{ "a webhook shape that is not known",
	  "webhooks = (\n  { name = \"w\"; url = \"https://h.example.com/\";\n" WEBHOOK_FIELDS
	  "    shape = \"sns\"; }\n);\n",
	  "FILE:5: webhooks[1].shape: \"sns\" is not one of: event, notification\n" },
	{ "a webhook without its required fields", "webhooks = (\n  { name = \"w\"; }\n);\n",
	  "FILE:2: webhooks[1]: \"url\" is required\n"
	  "FILE:2: webhooks[1]: \"topic_arn\" is required\n"
	  "FILE:2: webhooks[1]: \"signing_key\" is required\n"
	  "FILE:2: webhooks[1]: \"signing_cert_url\" is required\n" },
	{ "a webhook name with a space",
	  "webhooks = (\n  { name = \"a b\"; url = \"https://h.example.com/\";\n" WEBHOOK_FIELDS
	  "  }\n);\n",
	  "FILE:2: webhooks[1].name: \"a b\": spaces and control characters are not allowed\n" },
	{ "a webhook name that is a path",
	  "webhooks = (\n  { name = \"../x\"; url = \"https://h.example.com/\";\n" WEBHOOK_FIELDS
	  "  }\n);\n",
	  "FILE:2: webhooks[1]: name \"../x\" must not start with '.' or contain '/'\n" },
	{ "two webhooks with one name",
	  "webhooks = (\n  { name = \"w\"; url = \"https://h.example.com/\";\n" WEBHOOK_FIELDS
	  "  },\n  { name = \"w\"; url = \"http://127.0.0.1:8080/\";\n" WEBHOOK_FIELDS "  }\n);\n",
	  "FILE: webhooks: name \"w\" is used twice\n" },
	{ "a missing key file is refused",
	  "domains = (\n"
	  "  { domain = \"example.com\"; selector = \"mw1\"; key = \"@KEYS@/none.pem\"; }\n"
	  ");\n",
	  "FILE:2: domains[1]: @KEYS@/none.pem: No such file or directory\n" },
	{ "missing field reported in file order with the element's other problems",
	  "domains = (\n"
	  "  {\n"
	  "    domain = \"example.com\";\n"
	  "    colour = \"blue\";\n"
	  "  }\n"
	  ");\n",
	  "FILE:2: domains[1]: \"selector\" is required\n"
	  "FILE:2: domains[1]: \"key\" is required\n"
	  "FILE:4: domains[1].colour: unknown setting\n" },
};

static void
group_list_element_problem_names_element_and_line(void **state)
{
	(void)state;
	EXPECT_ERRORS(group_list_cases);
}

static const struct error_case syntax_cases[] = {
	{ "doubled equals sign", "\n\ndaemon = {\n  timeout = = 5;\n};\n",
	  "FILE:4: syntax error: syntax error\n" },
	{ "line counts comments",
	  "# a comment\n"
	  "/* a block\n"
	  "   comment */\n"
	  "// another\n"
	  "log = { level = ; };\n",
	  "FILE:5: syntax error: syntax error\n" },
	{ "unclosed group is reported at the end", "daemon = {\n  timeout = 5;\n",
	  "FILE:3: syntax error: syntax error\n" },
	{ "duplicate setting", "daemon = { timeout = 5; };\ndaemon = { timeout = 6; };\n",
	  "FILE:2: syntax error: duplicate setting name\n" },
	{ "only the syntax error is reported: nothing is checked before the file parses",
	  "colour = \"blue\";\n"
	  "daemon = { timeout = 0; };\n"
	  "log = { level = \"debug\" ]; };\n",
	  "FILE:3: syntax error: syntax error\n" },
};

static void
syntax_error_is_reported_with_its_line(void **state)
{
	(void)state;
	EXPECT_ERRORS(syntax_cases);
}

/* The acceptance test: each problem with its own file:line, in file order. */
static const struct error_case several_cases[] = {
	{ "unknown key, wrong type and out-of-range number",
	  "daemon = {\n"
	  "  colour = \"blue\";\n"
	  "  timeout = \"soon\";\n"
	  "  listen_backlog = 0;\n"
	  "};\n",
	  "FILE:2: daemon.colour: unknown setting\n"
	  "FILE:3: daemon.timeout: expected an integer, not a string\n"
	  "FILE:4: daemon.listen_backlog: 0 is out of range (1 to 65535)\n" },
	{ "problems across groups, lists and group lists",
	  "colour = \"blue\";\n"
	  "log = {\n"
	  "  level = \"loud\";\n"
	  "  to = \"stderr\";\n"
	  "};\n"
	  "trusted_networks = [ \"192.0.2.0/24\", \"192.0.2.1/24\" ];\n"
	  "domains = (\n"
	  "  { domain = \"example.com\"; selector = \"mw1\"; key = \"k.pem\"; }\n"
	  ");\n"
	  "streams = (\n"
	  "  { name = \"news\"; bulk = \"yes\"; }\n"
	  ");\n"
	  "events = {\n"
	  "  durability = \"sync\";\n"
	  "};\n"
	  "store = {\n"
	  "  path = \"mailward.db\";\n"
	  "};\n",
	  "FILE:1: colour: unknown setting\n"
	  "FILE:3: log.level: \"loud\" is not one of: error, warning, notice, info, debug\n"
	  "FILE:6: trusted_networks: \"192.0.2.1/24\": address has bits set beyond the /24 "
	  "prefix\n"
	  "FILE:8: domains[1].key: \"k.pem\" must be an absolute path\n"
	  "FILE:11: streams[1].bulk: expected true or false, not a string\n"
	  "FILE:14: events.durability: \"sync\" is not one of: fsync, none\n"
	  "FILE:17: store.path: \"mailward.db\" must be an absolute path\n" },
};

static void
every_problem_in_a_file_is_reported_in_file_order(void **state)
{
	(void)state;
	EXPECT_ERRORS(several_cases);
}

static void
unreadable_file_is_reported_with_the_reason(void **state)
{
	char path[PATH_MAX], expected[PATH_MAX + 64];
	struct buf errors = BUF_INIT;

	(void)state;
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	assert_null(policy_load(path, &errors));
	snprintf(expected, sizeof(expected), "%s: cannot read: No such file or directory\n", path);
	assert_string_equal(buf_str(&errors), expected);

	/* A directory opens but cannot be read; libconfig words the reason. */
	buf_reset(&errors);
	assert_null(policy_load(dir, &errors));
	snprintf(expected, sizeof(expected), "%s: cannot read: ", dir);
	assert_memory_equal(buf_str(&errors), expected, strlen(expected));
	assert_ptr_equal(strchr(errors.data, '\n'), errors.data + errors.len - 1); /* one line */
	buf_free(&errors);
}

static void
problem_in_an_included_file_names_that_file(void **state)
{
	char main_path[PATH_MAX], inc_path[PATH_MAX], text[PATH_MAX + 128];
	char expected[3 * PATH_MAX + 256];
	struct buf errors = BUF_INIT;

	(void)state;
	file_write("daemon = {\n  colour = \"blue\";\n};\n", inc_path, sizeof(inc_path));
	snprintf(text, sizeof(text),
	         "log = { level = \"loud\"; };\n"
	         "@include \"%s\"\n"
	         "store = { path = \"mailward.db\"; };\n",
	         inc_path);
	file_write(text, main_path, sizeof(main_path));
	assert_null(policy_load(main_path, &errors));
	unlink(main_path);
	unlink(inc_path);
	snprintf(expected, sizeof(expected),
	         "%s:1: log.level: \"loud\" is not one of: error, warning, notice, info, debug\n"
	         "%s:2: daemon.colour: unknown setting\n"
	         "%s:3: store.path: \"mailward.db\" must be an absolute path\n",
	         main_path, inc_path, main_path);
	assert_string_equal(buf_str(&errors), expected);
	buf_free(&errors);
}

/* ---------------------------------------------------------------- values */

static const struct {
	const char *name;
	const char *text;
} valid_cases[] = {
	{ "int at its minimum", "daemon = { timeout = 1; };\n" },
	{ "int at its maximum", "daemon = { timeout = 86400; listen_backlog = 65535; };\n" },
	{ "int range from 0", "events = { max_header_bytes = 0; };\n" },
	{ "int range to 1048576", "events = { max_header_bytes = 1048576; };\n" },
	{ "hexadecimal int", "daemon = { timeout = 0x3c; };\n" },
	{ "64-bit int within range", "daemon = { timeout = 60L; };\n" },
	{ "unix socket", "daemon = { socket = \"unix:/run/mailward/mailward.sock\"; };\n" },
	{ "the store on Redis over TCP",
	  "store = { backend = \"redis\"; redis = \"10.0.0.5:6379\"; redis_prefix = \"fleet1:\";\n"
	  "  redis_timeout_ms = 10; };\n" },
	{ "the store on Redis over IPv6, failing with reject",
	  "store = { redis = \"[2001:db8::5]:6380\"; redis_timeout_ms = 60000; };\n"
	  "failure = { store_unavailable = \"reject\"; };\n" },
	{ "a unix socket for Redis",
	  "store = { redis = \"unix:/run/redis/redis-server.sock\"; };\n" },
	{ "local socket", "daemon = { socket = \"local:/run/mailward/mailward.sock\"; };\n" },
	{ "unix socket path of 107 bytes", "daemon = { socket = \"unix:" UNIX_PATH_107 "\"; };\n" },
	{ "inet socket on port 1", "daemon = { socket = \"inet:1@localhost\"; };\n" },
	{ "inet socket on port 65535", "daemon = { socket = \"inet:65535@127.0.0.1\"; };\n" },
	{ "inet6 socket", "daemon = { socket = \"inet6:8891@::1\"; };\n" },
	{ "mode 0", "daemon = { socket_mode = \"0\"; };\n" },
	{ "mode 0777", "daemon = { socket_mode = \"0777\"; };\n" },
	{ "mode without leading zero", "daemon = { socket_mode = \"600\"; };\n" },
	{ "no pid file", "daemon = { pid_file = \"\"; };\n" },
	{ "absolute pid file", "daemon = { pid_file = \"/run/mailward/mailward.pid\"; };\n" },
	{ "networks of every form", "trusted_networks = [ \"0.0.0.0/0\", \"::/0\", \"192.0.2.7\", "
	                            "\"2001:db8::/32\", \"::ffff:192.0.2.0/120\" ];\n" },
	{ "list form of a string list", "trusted_networks = ( \"10.0.0.0/8\" );\n" },
	{ "empty string lists", "trusted_networks = [ ];\noutbound = { daemon_names = [ ]; };\n" },
	{ "empty group lists", "domains = ( );\nstreams = ( );\n" },
	{ "empty groups", "daemon = { };\nlog = { };\n" },
	{ "domains with digits, hyphens, underscores and a 63-byte label",
	  "feedback = { bounce_domains = [ \"bounce-1.example.com\", \"_dmarc.example.com\", "
	  "\"" LABEL_63 ".example\" ]; };\n" },
	{ "addresses with tags and several @",
	  "feedback = { complaint_addresses = [ \"fbl+isp@example.com\", "
	  "\"\\\"a@b\\\"@example.com\" "
	  "]; };\n" },
	{ "colon as the assignment sign", "daemon : { timeout : 30; };\n" },
	{ "a secret only its owner can read (mode 0400)",
	  "feedback = { verp_keys = ( { id = 1; file = \"@KEYS@/read-only.key\"; } ); };\n" },
};

static void
values_at_the_limits_and_every_accepted_form_load(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(valid_cases); i++) {
		char path[PATH_MAX];
		struct buf errors = BUF_INIT;
		struct policy *policy = load_text(valid_cases[i].text, path, sizeof(path), &errors);
		if (policy == NULL || errors.len != 0)
			fail_msg("%s: refused:\n%s", valid_cases[i].name, buf_str(&errors));
		policy_release(policy);
		buf_free(&errors);
	}
}

static bool
client_matches(const struct policy *policy, const char *address, const struct cidr *expected)
{
	struct sockaddr_storage client;

	assert_true(sockaddr_pton(address, &client));
	return netlist_match(&policy->trusted, (struct sockaddr *)&client) == expected;
}

static const char valid_policy[] =
    "daemon = {\n"
    "  socket = \"inet:8891@127.0.0.1\";\n"
    "  timeout = 60;\n"
    "  pid_file = \"/run/mailward/mailward.pid\";\n"
    "};\n"
    "log = {\n"
    "  level = \"debug\";\n"
    "  facility = \"local3\";\n"
    "};\n"
    "failure = {\n"
    "  dns_temperror = \"accept\";\n"
    "  internal_error = \"reject\";\n"
    "};\n"
    "trusted_networks = [ \"192.0.2.0/24\", \"2001:db8::/32\" ];\n"
    "outbound = {\n"
    "  authenticated = false;\n"
    "  daemon_names = [ \"submission\", \"smtps\" ];\n"
    "};\n"
    "domains = (\n"
    "  { domain = \"example.com\"; selector = \"mw1\"; key = \"@KEYS@/example.com.pem\"; },\n"
    "  { domain = \"example.org\"; selector = \"mw2\"; key = \"@KEYS@/example.org.pem\";\n"
    "    algorithm = \"ed25519-sha256\"; stream = \"news\"; }\n"
    ");\n"
    "streams = (\n"
    "  { name = \"news\"; bulk = true; pause_complaint_rate = \"0.5%\"; auto_resume = \"6h\"; }\n"
    ");\n"
    "feedback = {\n"
    "  bounce_domains = [ \"bounces.example.com\" ];\n"
    "  complaint_addresses = [ \"fbl@example.com\" ];\n"
    "};\n"
    "events = {\n"
    "  durability = \"none\";\n"
    "  shape = \"notification\";\n"
    "  max_header_bytes = 0;\n"
    "};\n";

static void
valid_file_lands_each_value_where_the_table_says(void **state)
{
	struct policy *p;

	(void)state;
	p = load_valid(valid_policy);

	assert_string_equal(p->socket, "inet:8891@127.0.0.1");
	assert_int_equal(p->milter_timeout, 60);
	assert_int_equal(p->listen_backlog, 128); /* not in the file: the default */
	assert_string_equal(p->pid_file, "/run/mailward/mailward.pid");
	assert_string_equal(p->socket_mode, "0660");

	assert_int_equal(p->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(p->log_to, POLICY_LOG_SYSLOG);
	assert_int_equal(policy_syslog_facility(p), LOG_LOCAL3);

	assert_int_equal(p->on_dns_temperror, ACTION_ACCEPT);
	assert_int_equal(p->on_internal_error, ACTION_REJECT);
	assert_int_equal(p->on_spool_unwritable, ACTION_TEMPFAIL);

	assert_int_equal(p->trusted_networks.count, 2);
	assert_string_equal(p->trusted_networks.items[1], "2001:db8::/32");
	assert_int_equal(p->trusted.count, 2);
	assert_true(client_matches(p, "192.0.2.9", &p->trusted.nets[0]));
	assert_true(client_matches(p, "::ffff:192.0.2.9", &p->trusted.nets[0]));
	assert_true(client_matches(p, "2001:db8::25", &p->trusted.nets[1]));
	assert_true(client_matches(p, "127.0.0.1", NULL)); /* the defaults are replaced */

	assert_false(p->outbound_authenticated);
	assert_int_equal(p->outbound_daemon_names.count, 2);
	assert_string_equal(p->outbound_daemon_names.items[0], "submission");
	assert_string_equal(p->outbound_daemon_names.items[1], "smtps");

	assert_int_equal(p->domain_count, 2);
	assert_string_equal(p->domains[0].domain, "example.com");
	assert_string_equal(p->domains[0].selector, "mw1");
	assert_non_null(strstr(p->domains[0].key_file, "/example.com.pem"));
	assert_non_null(p->domains[0].key.pkey);
	assert_int_equal(p->domains[0].key.bits, 1024);
	assert_non_null(p->domains[1].key.pkey);
	assert_string_equal(policy_algorithm_choices[p->domains[0].algorithm], "rsa-sha256");
	assert_string_equal(p->domains[0].stream, "");
	assert_string_equal(p->domains[1].domain, "example.org");
	assert_string_equal(policy_algorithm_choices[p->domains[1].algorithm], "ed25519-sha256");
	assert_string_equal(p->domains[1].stream, "news");

	assert_int_equal(p->stream_count, 1);
	assert_string_equal(p->streams[0].name, "news");
	assert_true(p->streams[0].bulk);
	assert_string_equal(p->streams[0].reputation.pause_complaint_rate, "0.5%");
	assert_string_equal(p->streams[0].reputation.auto_resume, "6h");
	assert_string_equal(p->streams[0].reputation.warn_complaint_rate, "0.1%"); /* default */
	assert_int_equal(p->streams[0].reputation.min_sends, 500);
	assert_string_equal(p->domain_reputation.window, "24h");

	assert_int_equal(p->bounce_domains.count, 1);
	assert_string_equal(p->bounce_domains.items[0], "bounces.example.com");
	assert_int_equal(p->complaint_addresses.count, 1);
	assert_string_equal(p->complaint_addresses.items[0], "fbl@example.com");

	assert_int_equal(p->durability, SPOOL_DURABILITY_NONE);
	assert_int_equal(p->event_shape, EVENT_SHAPE_NOTIFICATION);
	assert_int_equal(p->max_header_bytes, 0);
	assert_string_equal(p->store_path, "/var/lib/mailward/mailward.db");
	policy_release(p);
}

static void
facility_choice_maps_to_its_syslog_facility(void **state)
{
	static const int facilities[] = { LOG_MAIL,   LOG_DAEMON, LOG_LOCAL0, LOG_LOCAL1,
		                          LOG_LOCAL2, LOG_LOCAL3, LOG_LOCAL4, LOG_LOCAL5,
		                          LOG_LOCAL6, LOG_LOCAL7 };

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(facilities); i++) {
		char text[64];
		snprintf(text, sizeof(text), "log = { facility = \"%s\"; };\n",
		         policy_facility_choices[i]);
		struct policy *p = load_valid(text);
		if (policy_syslog_facility(p) != facilities[i])
			fail_msg("%s: wrong syslog facility", policy_facility_choices[i]);
		policy_release(p);
	}
	assert_null(policy_facility_choices[ARRAY_LEN(facilities)]);
}

static void
assert_strlist_equal(const struct strlist *a, const struct strlist *b)
{
	assert_int_equal(a->count, b->count);
	for (size_t i = 0; i < a->count; i++)
		assert_string_equal(a->items[i], b->items[i]);
}

/* Every setting of two snapshots without group-list elements is the same. */
static void
assert_same_settings(const struct policy *a, const struct policy *b)
{
	assert_string_equal(a->socket, b->socket);
	assert_string_equal(a->user, b->user);
	assert_string_equal(a->socket_group, b->socket_group);
	assert_string_equal(a->socket_mode, b->socket_mode);
	assert_string_equal(a->pid_file, b->pid_file);
	assert_int_equal(a->milter_timeout, b->milter_timeout);
	assert_int_equal(a->listen_backlog, b->listen_backlog);
	assert_int_equal(a->log_to, b->log_to);
	assert_int_equal(a->log_level, b->log_level);
	assert_int_equal(a->log_facility, b->log_facility);
	assert_int_equal(a->on_internal_error, b->on_internal_error);
	assert_int_equal(a->on_policy_unavailable, b->on_policy_unavailable);
	assert_int_equal(a->on_spool_unwritable, b->on_spool_unwritable);
	assert_int_equal(a->on_dns_temperror, b->on_dns_temperror);
	assert_strlist_equal(&a->trusted_networks, &b->trusted_networks);
	assert_int_equal(a->trusted.count, b->trusted.count);
	assert_int_equal(a->outbound_authenticated, b->outbound_authenticated);
	assert_strlist_equal(&a->outbound_daemon_names, &b->outbound_daemon_names);
	assert_int_equal(a->domain_count, 0);
	assert_int_equal(b->domain_count, 0);
	assert_string_equal(a->authserv_id, b->authserv_id);
	assert_int_equal(a->stream_count, 0);
	assert_int_equal(b->stream_count, 0);
	assert_strlist_equal(&a->bounce_domains, &b->bounce_domains);
	assert_strlist_equal(&a->complaint_addresses, &b->complaint_addresses);
	assert_string_equal(a->spool_dir, b->spool_dir);
	assert_int_equal(a->durability, b->durability);
	assert_int_equal(a->event_shape, b->event_shape);
	assert_int_equal(a->max_header_bytes, b->max_header_bytes);
	assert_string_equal(a->store_path, b->store_path);
}

static void
defaults_are_the_documented_values(void **state)
{
	struct policy *p = policy_defaults();

	(void)state;
	assert_string_equal(p->path, "(defaults)");
	assert_string_equal(p->socket, "unix:/run/mailward/mailward.sock");
	assert_string_equal(p->user, "mailward");
	assert_string_equal(p->socket_mode, "0660");
	assert_string_equal(p->pid_file, "");
	assert_int_equal(p->milter_timeout, 300);
	assert_int_equal(p->listen_backlog, 128);
	assert_int_equal(p->log_to, POLICY_LOG_SYSLOG);
	assert_int_equal(p->log_level, LOG_LEVEL_INFO);
	assert_int_equal(policy_syslog_facility(p), LOG_MAIL);
	assert_int_equal(p->on_internal_error, ACTION_TEMPFAIL);
	assert_int_equal(p->on_policy_unavailable, ACTION_TEMPFAIL);
	assert_int_equal(p->on_spool_unwritable, ACTION_TEMPFAIL);
	assert_int_equal(p->on_dns_temperror, ACTION_TEMPFAIL);
	assert_int_equal(p->trusted_networks.count, 2);
	assert_string_equal(p->trusted_networks.items[0], "127.0.0.0/8");
	assert_string_equal(p->trusted_networks.items[1], "::1/128");
	assert_int_equal(p->trusted.count, 2);
	assert_true(client_matches(p, "127.0.0.53", &p->trusted.nets[0]));
	assert_true(client_matches(p, "::1", &p->trusted.nets[1]));
	assert_true(p->outbound_authenticated);
	assert_int_equal(p->outbound_daemon_names.count, 1);
	assert_string_equal(p->outbound_daemon_names.items[0], "ORIGINATING");
	assert_int_equal(p->domain_count, 0);
	assert_int_equal(p->stream_count, 0);
	assert_int_equal(p->bounce_domains.count, 0);
	assert_int_equal(p->complaint_addresses.count, 0);
	assert_string_equal(p->spool_dir, "/var/spool/mailward/events");
	assert_int_equal(p->durability, SPOOL_DURABILITY_FSYNC);
	assert_int_equal(p->event_shape, EVENT_SHAPE_EVENT);
	assert_int_equal(p->max_header_bytes, 10240);
	assert_string_equal(p->store_path, "/var/lib/mailward/mailward.db");
	policy_release(p);
}

static void
empty_file_loads_the_defaults(void **state)
{
	struct policy *defaults = policy_defaults();
	struct policy *loaded = load_valid("");

	(void)state;
	assert_same_settings(loaded, defaults);
	policy_release(loaded);
	policy_release(defaults);
}

static void
documented_sample_loads_to_the_defaults(void **state)
{
	char path[PATH_MAX];
	struct buf errors = BUF_INIT;
	struct policy *defaults = policy_defaults(), *loaded;
	FILE *f;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/sample.XXXXXX", dir);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	sample_write(f);
	assert_int_equal(fclose(f), 0);
	loaded = policy_load(path, &errors);
	unlink(path);
	assert_string_equal(buf_str(&errors), "");
	assert_non_null(loaded);
	assert_string_equal(loaded->path, path);
	assert_same_settings(loaded, defaults);
	policy_release(loaded);
	policy_release(defaults);
	buf_free(&errors);
}

/* ------------------------------------------------------------- lifecycle */

static int
refs(struct policy *policy)
{
	return atomic_load(&policy->refs);
}

static void
nothing_installed_acquires_null(void **state)
{
	(void)state;
	policy_uninstall();
	assert_null(policy_acquire());
	policy_release(NULL); /* harmless, so callers need not check */
}

static void
acquire_returns_the_installed_snapshot_with_a_reference(void **state)
{
	struct policy *p = policy_defaults(), *a, *b;

	(void)state;
	assert_int_equal(refs(p), 1);
	policy_install(p); /* the installed slot owns the loader's reference */
	a = policy_acquire();
	b = policy_acquire();
	assert_ptr_equal(a, p);
	assert_ptr_equal(b, p);
	assert_int_equal(refs(p), 3);
	policy_release(a);
	policy_release(b);
	assert_int_equal(refs(p), 1);
	policy_uninstall();
	assert_null(policy_acquire());
}

static void
reload_keeps_an_acquired_snapshot_until_its_release(void **state)
{
	struct policy *old = load_valid("daemon = { timeout = 10; };\n");
	struct policy *fresh = load_valid("daemon = { timeout = 20; };\n");
	struct policy *pinned, *after;

	(void)state;
	policy_install(old);
	pinned = policy_acquire();
	assert_ptr_equal(pinned, old);

	policy_install(fresh);
	/* The connection that pinned the old snapshot still reads it whole. */
	assert_int_equal(refs(pinned), 1);
	assert_int_equal(pinned->milter_timeout, 10);
	assert_string_equal(pinned->socket, "unix:/run/mailward/mailward.sock");
	assert_int_equal(pinned->trusted.count, 2);

	after = policy_acquire();
	assert_ptr_equal(after, fresh);
	assert_int_equal(after->milter_timeout, 20);

	policy_release(pinned); /* the last user frees it: valgrind sees no leak */
	policy_release(after);
	assert_int_equal(refs(fresh), 1);
	policy_uninstall();
	assert_null(policy_acquire());
}

static void
uninstall_keeps_an_acquired_snapshot_until_its_release(void **state)
{
	struct policy *p = policy_defaults(), *pinned;

	(void)state;
	policy_install(p);
	pinned = policy_acquire();
	policy_uninstall();
	assert_null(policy_acquire());
	assert_int_equal(refs(pinned), 1);
	assert_int_equal(pinned->milter_timeout, 300);
	policy_release(pinned);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unknown_setting_is_an_error_with_file_and_line),
		cmocka_unit_test(wrong_type_is_an_error_naming_expected_and_found),
		cmocka_unit_test(out_of_range_number_is_an_error_with_the_range),
		cmocka_unit_test(invalid_choice_is_an_error_listing_the_choices),
		cmocka_unit_test(invalid_value_is_an_error_saying_what_is_expected),
		cmocka_unit_test(bad_list_item_is_an_error_with_its_own_line),
		cmocka_unit_test(group_list_element_problem_names_element_and_line),
		cmocka_unit_test(syntax_error_is_reported_with_its_line),
		cmocka_unit_test(every_problem_in_a_file_is_reported_in_file_order),
		cmocka_unit_test(unreadable_file_is_reported_with_the_reason),
		cmocka_unit_test(problem_in_an_included_file_names_that_file),
		cmocka_unit_test(values_at_the_limits_and_every_accepted_form_load),
		cmocka_unit_test(valid_file_lands_each_value_where_the_table_says),
		cmocka_unit_test(facility_choice_maps_to_its_syslog_facility),
		cmocka_unit_test(defaults_are_the_documented_values),
		cmocka_unit_test(empty_file_loads_the_defaults),
		cmocka_unit_test(documented_sample_loads_to_the_defaults),
		cmocka_unit_test(nothing_installed_acquires_null),
		cmocka_unit_test(acquire_returns_the_installed_snapshot_with_a_reference),
		cmocka_unit_test(reload_keeps_an_acquired_snapshot_until_its_release),
		cmocka_unit_test(uninstall_keeps_an_acquired_snapshot_until_its_release),
	};
	return cmocka_run_group_tests_name("policy", tests, make_dir, remove_dir);
}
