/*
 * suppression - "mailward suppression": the suppression list by hand
 *
 *   mailward suppression [-c POLICY] get ADDRESS [--stream S]
 *   mailward suppression [-c POLICY] add ADDRESS [--stream S] [--reason R]
 *   mailward suppression [-c POLICY] remove ADDRESS [--stream S]
 *   mailward suppression [-c POLICY] list [FILTERS]
 *                        [--page-size N] [--next-token T | --all]
 *   mailward suppression [-c POLICY] import FILE|- [--format F] [--strict]
 *   mailward suppression [-c POLICY] export [FILE|-] [--format F] [FILTERS]
 *
 * Entries print as JSON Lines, as SES's suppressed-destination records
 * read.  list pages like ListSuppressedDestinations: a last line
 * {"nextToken": T} when there is more; --all follows the pages.  import
 * and export are in tools/suppression_io.c.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/store.h"
#include "common/suppression.h"
#include "common/suppression_format.h"
#include "common/xalloc.h"
#include "policy/policy.h"
#include "tools/suppression_io.h"
#include "tools/tools.h"

static void
usage(FILE *out)
{
	fprintf(out,
	        "Usage: mailward suppression [-c POLICY] COMMAND [ARGS]\n"
	        "\n"
	        "The suppression list in the store (store.path, or the fleet's Redis with\n"
	        "store.backend = \"redis\"): addresses mailward refuses at RCPT (account\n"
	        "level) or for one sending stream, because they bounced permanently,\n"
	        "complained, unsubscribed, or were put there here.  Addresses compare\n"
	        "without case.  Run it as the daemon's user (the store's owner), e.g.\n"
	        "sudo -u mailward mailward suppression list.  A running milter (each\n"
	        "instance of a fleet) sees every change at its next lookup.\n"
	        "\n"
	        "Commands:\n"
	        "  get ADDRESS [--stream S]     print the entry, or exit 1 if there is none\n"
	        "  add ADDRESS [--stream S] [--reason R]\n"
	        "                               put ADDRESS on the list (R: BOUNCE, COMPLAINT,\n"
	        "                               UNSUBSCRIBE or MANUAL, the default)\n"
	        "  remove ADDRESS [--stream S]  take it off (exit 1 if it was not there)\n"
	        "  list [FILTERS] [--page-size N] [--next-token T | --all]\n"
	        "                               one JSON object per line; a last line\n"
	        "                               {\"nextToken\": T} when more follow (pass it\n"
	        "                               back with --next-token); --all follows them\n"
	        "  import FILE|- [--format F] [--strict]\n"
	        "                               add every row of FILE (- : standard input);\n"
	        "                               an address already listed in the same stream\n"
	        "                               takes the row's reason, time and message ID\n"
	        "                               (the last row wins); bad rows are reported as\n"
	        "                               FILE:LINE: reason and skipped (exit 1)\n"
	        "  export [FILE|-] [--format F] [FILTERS]\n"
	        "                               write the entries to FILE (default: standard\n"
	        "                               output), in address order\n"
	        "\n"
	        "Formats (F; default from FILE's extension: .jsonl, .ndjson or .json for\n"
	        "JSON Lines, otherwise CSV):\n"
	        "  csv    a header line address,scope,reason,time,message_id, then one\n"
	        "         entry per line; scope is the stream (empty: the account's list),\n"
	        "         time ISO 8601 UTC (2026-11-23T19:28:23.000Z).  On import the\n"
	        "         header may name the columns in any order (address is required;\n"
	        "         emailAddress, stream, lastUpdateTime, messageId are understood);\n"
	        "         without one the columns are in this order, trailing ones optional,\n"
	        "         so a plain list of addresses imports.  Fields may be \"quoted\".\n"
	        "  jsonl  one JSON object per line, as list prints them; on import only\n"
	        "         emailAddress is required and unknown keys are errors.\n"
	        "  Values missing on import: the account's list, reason MANUAL, the time\n"
	        "  of the import, an empty message ID.  Times: ISO 8601 with Z or an\n"
	        "  offset, a date (midnight UTC), or epoch seconds.\n"
	        "\n"
	        "FILTERS (list and export):\n"
	        "  --reason R       only entries with reason R\n"
	        "  --stream S       only stream S's entries (--stream '': the account's)\n"
	        "  --start-date D   only entries added or updated at or after D\n"
	        "  --end-date D     ... and before D (D: a date or ISO 8601 time, UTC)\n"
	        "\n"
	        "Options:\n"
	        "  -c POLICY        policy file (default %s)\n"
	        "  --stream S       get, add, remove: the list of sending stream S (default:\n"
	        "                   the account's)\n"
	        "  --page-size N    list: entries per page (default 1000)\n"
	        "  --format F       import, export: csv or jsonl\n"
	        "  --strict         import: if any row is bad, import nothing (every bad\n"
	        "                   row is still reported; exit 1)\n"
	        "  -h, --help       show this help and exit\n"
	        "\n"
	        "Import is bulk: sorted batches of 100000 rows, one transaction each; a\n"
	        "million rows take seconds.  If the store fails part way (a full disk),\n"
	        "the batches before stay imported; importing the file again is safe.\n"
	        "import makes the store if there is none yet.\n"
	        "\n"
	        "Exit status: 0 done, 1 no such entry or bad rows, 64 usage, 65 an input\n"
	        "that is not the format (e.g. an unknown CSV column), 66 no readable store\n"
	        "or input file, 73 cannot create the output file, 74 store or I/O errors,\n"
	        "78 policy problems.\n",
	        MW_DEFAULT_POLICY);
}

struct options {
	const char *policy_path;
	const char *stream;
	const char *next_token;
	bool reason_set, all, since_set, until_set;
	enum suppression_reason reason;
	time_t since, until;
	long page_size;
	struct suppression_io io;
};

/* --start-date / --end-date */
static int
parse_date(const char *name, const char *text, bool *set, time_t *out)
{
	if (suppression_time_parse(text, out) < 0) {
		fprintf(stderr, "mailward suppression: %s: not a date or ISO 8601 time: %s\n", name,
		        text);
		return EX_USAGE;
	}
	*set = true;
	return 0;
}

static int
parse(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "stream", required_argument, NULL, 's' },
		{ "reason", required_argument, NULL, 'r' },
		{ "page-size", required_argument, NULL, 'n' },
		{ "next-token", required_argument, NULL, 't' },
		{ "all", no_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'f' },
		{ "strict", no_argument, NULL, 'S' },
		{ "start-date", required_argument, NULL, 'b' },
		{ "end-date", required_argument, NULL, 'e' },
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
		case 'f':
			if (suppression_format_parse(optarg, &opt->io.format) < 0) {
				fprintf(stderr, "mailward suppression: --format csv or jsonl\n");
				return EX_USAGE;
			}
			opt->io.format_set = true;
			break;
		case 'S':
			opt->io.strict = true;
			break;
		case 'b':
			if (parse_date("--start-date", optarg, &opt->since_set, &opt->since) != 0)
				return EX_USAGE;
			break;
		case 'e':
			if (parse_date("--end-date", optarg, &opt->until_set, &opt->until) != 0)
				return EX_USAGE;
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
	struct buf line = BUF_INIT;

	suppression_jsonl_write(&line, e);
	fwrite(line.data, 1, line.len, stdout);
	buf_free(&line);
}

/* The list filters of the command line, from the start. */
static struct suppression_filter
filter_of(const struct options *opt)
{
	return (struct suppression_filter){
		.reason_set = opt->reason_set,
		.reason = opt->reason,
		.scope = opt->stream,
		.since_set = opt->since_set,
		.since = opt->since,
		.until_set = opt->until_set,
		.until = opt->until,
		.limit = -1,
	};
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
		struct suppression_filter filter = filter_of(opt);
		struct page page = { .count = 0 };

		filter.after_address = after_address;
		filter.after_scope = after_scope;
		filter.limit = opt->page_size;
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

/* The command's operand (options may come before it); 0 or EX_USAGE. */
static int
operand_of(int argc, char **argv, const char *command, const char **operand, struct options *opt)
{
	static const char *const needs_address[] = { "get", "add", "remove" };
	int rc = parse(argc, argv, opt);
	bool have = optind < argc && (argv[optind][0] != '-' || argv[optind][1] == '\0');

	if (rc != 0)
		return rc;
	*operand = have ? argv[optind] : NULL;
	for (size_t i = 0; i < sizeof(needs_address) / sizeof(needs_address[0]); i++)
		if (strcmp(command, needs_address[i]) == 0) {
			if (!have) {
				fprintf(stderr, "mailward suppression: %s needs an ADDRESS\n",
				        command);
				return EX_USAGE;
			}
			optind++;
			return 0;
		}
	if (strcmp(command, "import") == 0 && !have) {
		fprintf(stderr, "mailward suppression: import needs a FILE (- : stdin)\n");
		return EX_USAGE;
	}
	if (strcmp(command, "import") == 0 || strcmp(command, "export") == 0) {
		optind += have;
		if (*operand == NULL)
			*operand = "-";
		return 0;
	}
	if (strcmp(command, "list") == 0) {
		*operand = NULL;
		return 0;
	}
	fprintf(stderr, "mailward suppression: unknown command %s\n", command);
	return EX_USAGE;
}

static int
dispatch(struct store *store, const char *command, const char *operand, struct options *opt)
{
	struct suppression_filter filter = filter_of(opt);

	if (strcmp(command, "list") == 0)
		return list(store, opt);
	opt->io.path = operand;
	if (strcmp(command, "import") == 0)
		return suppression_io_import(store, &opt->io);
	if (strcmp(command, "export") == 0)
		return suppression_io_export(store, &opt->io, &filter);
	return one(store, command, operand, opt);
}

int
suppression_main(int argc, char **argv)
{
	struct options opt = { .policy_path = MW_DEFAULT_POLICY, .page_size = 1000 };
	struct buf err = BUF_INIT;
	struct policy *policy;
	struct store_options store_options;
	struct store *store;
	const char *command, *operand;
	int rc = parse(argc, argv, &opt);

	if (rc != 0)
		return rc;
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	command = argv[optind++];
	/* Options may come anywhere after the command too. */
	if ((rc = operand_of(argc, argv, command, &operand, &opt)) != 0 ||
	    (rc = parse(argc, argv, &opt)) != 0)
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
	/* import may make the store (as the daemon's user, so it can use it). */
	policy_store_options(policy, &store_options);
	if ((strcmp(command, "import") != 0 && store_options.backend == STORE_SQLITE &&
	     access(policy->store_path, R_OK) < 0) ||
	    (store = store_open_with(policy->store_path, &store_options, &err)) == NULL) {
		fprintf(stderr, "mailward suppression: %s: %s\n", policy->store_path,
		        err.len ? buf_str(&err) : strerror(errno));
		policy_release(policy);
		buf_free(&err);
		return EX_NOINPUT;
	}
	rc = dispatch(store, command, operand, &opt);
	store_close(store);
	policy_release(policy);
	return rc;
}
