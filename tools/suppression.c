/*
 * suppression - "mailward suppression": the suppression list by hand
 *
 *   mailward suppression [-c POLICY] get ADDRESS [--stream S]
 *   mailward suppression [-c POLICY] add ADDRESS [--stream S] [--reason R]
 *   mailward suppression [-c POLICY] remove ADDRESS [--stream S]
 *   mailward suppression [-c POLICY] list [--reason R] [--stream S]
 *                        [--page-size N] [--next-token T | --all]
 *
 * Entries print as JSON Lines, as SES's suppressed-destination records
 * read.  list pages like ListSuppressedDestinations: a last line
 * {"nextToken": T} when there is more; --all follows the pages.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/store.h"
#include "common/suppression.h"
#include "common/timefmt.h"
#include "common/xalloc.h"
#include "policy/policy.h"
#include "tools/tools.h"

static void
usage(FILE *out)
{
	fprintf(out,
	        "Usage: mailward suppression [-c POLICY] COMMAND [ARGS]\n"
	        "\n"
	        "The suppression list in the store (store.path): addresses mailward\n"
	        "refuses at RCPT (account level) or for one sending stream, because they\n"
	        "bounced permanently, complained, unsubscribed, or were put there here.\n"
	        "Addresses compare without case.  Run it as the daemon's user (the\n"
	        "store's owner), e.g. sudo -u mailward mailward suppression list.\n"
	        "\n"
	        "Commands:\n"
	        "  get ADDRESS [--stream S]     print the entry, or exit 1 if there is none\n"
	        "  add ADDRESS [--stream S] [--reason R]\n"
	        "                               put ADDRESS on the list (R: BOUNCE, COMPLAINT,\n"
	        "                               UNSUBSCRIBE or MANUAL, the default)\n"
	        "  remove ADDRESS [--stream S]  take it off (exit 1 if it was not there)\n"
	        "  list [--reason R] [--stream S] [--page-size N] [--next-token T | --all]\n"
	        "                               one JSON object per line; a last line\n"
	        "                               {\"nextToken\": T} when more follow (pass it\n"
	        "                               back with --next-token); --all follows them\n"
	        "\n"
	        "  -c POLICY        policy file (default %s)\n"
	        "  --stream S       the list of sending stream S (default: the account's)\n"
	        "  --page-size N    entries per page (default 1000)\n"
	        "  -h, --help       show this help and exit\n"
	        "\n"
	        "Exit status: 0 done, 1 no such entry, 64 usage, 66 no readable store,\n"
	        "74 store errors, 78 policy problems.\n",
	        MW_DEFAULT_POLICY);
}

struct options {
	const char *policy_path;
	const char *stream;
	const char *next_token;
	bool reason_set, all;
	enum suppression_reason reason;
	long page_size;
};

static int
parse(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "stream", required_argument, NULL, 's' },
		{ "reason", required_argument, NULL, 'r' },
		{ "page-size", required_argument, NULL, 'n' },
		{ "next-token", required_argument, NULL, 't' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt->policy_path = optarg;
			break;
		case 's':
			opt->stream = optarg;
			break;
		case 'r':
			if (suppression_reason_parse(optarg, &opt->reason) < 0) {
				fprintf(stderr, "mailward suppression: unknown reason %s\n",
				        optarg);
				return EX_USAGE;
			}
			opt->reason_set = true;
			break;
		case 'n':
			opt->page_size = strtol(optarg, &end, 10);
			if (*end != '\0' || opt->page_size < 1 || opt->page_size > 100000) {
				fprintf(stderr, "mailward suppression: --page-size 1 to 100000\n");
				return EX_USAGE;
			}
			break;
		case 't':
			opt->next_token = optarg;
			break;
		case 'a':
			opt->all = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	return 0;
}

static void
print_entry(const struct suppression_entry *e)
{
	char when[TIMEFMT_ISO8601_LEN];
	struct timespec ts = { .tv_sec = e->time };
	json_t *obj;
	char *text;

	timefmt_iso8601(&ts, when, sizeof(when));
	obj = json_pack("{s:s, s:s, s:s, s:s, s:s}", "emailAddress", e->address, "reason",
	                suppression_reason_name(e->reason), "lastUpdateTime", when, "stream",
	                e->scope, "messageId", e->message_id);
	text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (text != NULL)
		printf("%s\n", text);
	free(text);
	json_decref(obj);
}

struct page {
	struct suppression_entry last;
	long count;
};

static int
each(const struct suppression_entry *e, void *arg)
{
	struct page *page = arg;

	print_entry(e);
	page->last = *e;
	page->count++;
	return 0;
}

/* The next token names the last entry printed: "ADDRESS\tSCOPE", hex-encoded. */
static void
token_write(const struct suppression_entry *e)
{
	printf("{\"nextToken\":\"");
	for (const char *p = e->address; *p; p++)
		printf("%02x", (unsigned char)*p);
	printf("09");
	for (const char *p = e->scope; *p; p++)
		printf("%02x", (unsigned char)*p);
	printf("\"}\n");
}

static int
token_read(const char *token, char *address, size_t alen, char *scope, size_t slen)
{
	char raw[SUPPRESSION_ADDRESS_MAX + SUPPRESSION_SCOPE_MAX + 2];
	size_t n = strlen(token) / 2;
	char *tab;

	if (strlen(token) % 2 != 0 || n >= sizeof(raw))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(token + 2 * i, "%2x", &v) != 1)
			return -1;
		raw[i] = (char)v;
	}
	raw[n] = '\0';
	if ((tab = strchr(raw, '\t')) == NULL || memchr(raw, '\0', n) != NULL)
		return -1;
	*tab = '\0';
	snprintf(address, alen, "%s", raw);
	snprintf(scope, slen, "%s", tab + 1);
	return 0;
}

static int
list(struct store *store, const struct options *opt)
{
	char after_address[SUPPRESSION_ADDRESS_MAX + 1] = "",
	                                             after_scope[SUPPRESSION_SCOPE_MAX + 1] = "";
	struct buf err = BUF_INIT;

	if (opt->next_token != NULL &&
	    token_read(opt->next_token, after_address, sizeof(after_address), after_scope,
	               sizeof(after_scope)) < 0) {
		fprintf(stderr, "mailward suppression: not a next token: %s\n", opt->next_token);
		return EX_USAGE;
	}
	for (;;) {
		struct suppression_filter filter = {
			.after_address = after_address,
			.after_scope = after_scope,
			.reason_set = opt->reason_set,
			.reason = opt->reason,
			.scope = opt->stream,
			.limit = opt->page_size,
		};
		struct page page = { .count = 0 };

		if (suppression_list(store, &filter, each, &page, &err) < 0) {
			fprintf(stderr, "mailward suppression: %s\n", buf_str(&err));
			buf_free(&err);
			return EX_IOERR;
		}
		if (page.count < opt->page_size)
			return 0;
		if (!opt->all) {
			token_write(&page.last);
			return 0;
		}
		snprintf(after_address, sizeof(after_address), "%s", page.last.address);
		snprintf(after_scope, sizeof(after_scope), "%s", page.last.scope);
	}
}

static int
one(struct store *store, const char *command, const char *address, const struct options *opt)
{
	const char *scope = opt->stream ? opt->stream : "";
	struct suppression_entry e = { .reason = opt->reason_set ? opt->reason : SUPPRESSION_MANUAL,
		                       .time = time(NULL) };
	struct buf err = BUF_INIT;
	int rc;

	if (strcmp(command, "get") == 0) {
		rc = suppression_get(store, address, scope, &e, &err);
		if (rc > 0)
			print_entry(&e);
	} else if (strcmp(command, "remove") == 0) {
		rc = suppression_remove(store, address, scope, &err);
	} else {
		snprintf(e.address, sizeof(e.address), "%s", address);
		snprintf(e.scope, sizeof(e.scope), "%s", scope);
		snprintf(e.message_id, sizeof(e.message_id), "manual");
		rc = suppression_add(store, &e, &err) == 0 ? 1 : -1;
	}
	if (rc < 0)
		fprintf(stderr, "mailward suppression: %s\n", buf_str(&err));
	buf_free(&err);
	return rc < 0 ? EX_IOERR : rc == 0 ? 1 : 0;
}

int
suppression_main(int argc, char **argv)
{
	struct options opt = { .policy_path = MW_DEFAULT_POLICY, .page_size = 1000 };
	struct buf err = BUF_INIT;
	struct policy *policy;
	struct store *store;
	const char *command, *address = NULL;
	int rc = parse(argc, argv, &opt);

	if (rc != 0)
		return rc;
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	command = argv[optind++];
	if (strcmp(command, "list") != 0) {
		if (strcmp(command, "get") != 0 && strcmp(command, "add") != 0 &&
		    strcmp(command, "remove") != 0) {
			fprintf(stderr, "mailward suppression: unknown command %s\n", command);
			return EX_USAGE;
		}
		if (optind >= argc) {
			fprintf(stderr, "mailward suppression: %s needs an ADDRESS\n", command);
			return EX_USAGE;
		}
		address = argv[optind++];
	}
	/* Options may follow the command and the address too. */
	if ((rc = parse(argc, argv, &opt)) != 0)
		return rc;
	if (optind < argc) {
		fprintf(stderr, "mailward suppression: unexpected %s\n", argv[optind]);
		return EX_USAGE;
	}
	if ((policy = policy_load(opt.policy_path, &err)) == NULL) {
		fprintf(stderr, "%s", buf_str(&err));
		buf_free(&err);
		return EX_CONFIG;
	}
	if (access(policy->store_path, R_OK) < 0 ||
	    (store = store_open(policy->store_path, &err)) == NULL) {
		fprintf(stderr, "mailward suppression: %s: %s\n", policy->store_path,
		        err.len ? buf_str(&err) : strerror(errno));
		policy_release(policy);
		buf_free(&err);
		return EX_NOINPUT;
	}
	rc = address == NULL ? list(store, &opt) : one(store, command, address, &opt);
	store_close(store);
	policy_release(policy);
	return rc;
}
