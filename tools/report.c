/*
 * report - "mailward report": DMARC aggregate reports from the store
 *
 *   mailward report [-c POLICY] [--domain D] [--period P] [--out DIR | --stdout]
 *                   [--purge-days N]
 *	For each policy domain with DMARC evaluations recorded in the period
 *	(or only D), write DIR/RECEIVER!DOMAIN!BEGIN!END.xml (RFC 7489
 *	7.2.1.1) and print one line per file for the mailing job; with
 *	--stdout the one report goes to standard output.  Then, with
 *	--purge-days, delete the history older than N days.
 *
 * Sending is the administrator's job (cron): the tool only writes.  Files
 * appear under their final name complete (written aside, then renamed),
 * so a job that picks up *.xml never reads half a report.  Running it
 * again for the same period rewrites the same file with the same report
 * ID.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "common/dmarc_history.h"
#include "common/store.h"
#include "common/xalloc.h"
#include "policy/policy.h"
#include "tools/report_xml.h"
#include "tools/tools.h"

#define DAY 86400

static void
report_usage(FILE *out)
{
	fprintf(out,
	        "Usage: mailward report [-c POLICY] [--domain D] [--period P]\n"
	        "                       [--out DIR | --stdout] [--purge-days N]\n"
	        "\n"
	        "Write DMARC aggregate reports (RFC 7489 XML) from the evaluations the\n"
	        "milter recorded in the store (inbound.dmarc_history): one file per\n"
	        "policy domain per period, DIR/RECEIVER!DOMAIN!BEGIN!END.xml (RECEIVER is\n"
	        "inbound.authserv_id or the host name, BEGIN and END the period in Unix\n"
	        "seconds), ready to be mailed to the rua= address of the domain's DMARC\n"
	        "record.  mailward does not send them; README has a cron job that does.\n"
	        "One line is printed per file, for that job:\n"
	        "  PATH domain=DOMAIN records=N messages=N report_id=ID rua=URIS|-\n"
	        "\n"
	        "  -c POLICY        policy file (default %s);\n"
	        "                   it gives store.path, inbound.report_email (required),\n"
	        "                   report_org_name and authserv_id\n"
	        "  -d, --domain D   only the report for policy domain D\n"
	        "  -p, --period P   yesterday (default), today (midnight until now),\n"
	        "                   last-24h, or FROM..UNTIL: ISO 8601 dates or times in\n"
	        "                   UTC, e.g. 2026-11-01..2026-11-08 (UNTIL not included)\n"
	        "                   or 2026-11-23T06:00..2026-11-23T18:00\n"
	        "  -o, --out DIR    write the files into DIR (default .)\n"
	        "      --stdout     write the report to standard output instead; there\n"
	        "                   must be only one (use --domain)\n"
	        "      --purge-days N\n"
	        "                   afterwards, delete the history older than N days\n"
	        "  -h, --help       show this help and exit\n"
	        "\n"
	        "Periods are whole seconds in UTC; a report's date_range ends at the last\n"
	        "second of its period.  Nothing recorded: a note and exit status 0.\n"
	        "Exit status: 64 bad options or period, 78 policy problems (e.g. no\n"
	        "inbound.report_email), 66 no readable store, 73 DIR not writable,\n"
	        "74 store errors while reading or purging.\n",
	        MW_DEFAULT_POLICY);
}

struct report_options {
	const char *policy_path;
	const char *domain;
	const char *period;
	const char *out_dir;
	bool to_stdout;
	long purge_days; /* 0: no purge */
};

/* 0, or EX_USAGE after saying why; exits 0 for --help. */
static int
parse_options(int argc, char **argv, struct report_options *opt)
{
	enum { OPT_STDOUT = 256, OPT_PURGE };
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "period", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "stdout", no_argument, NULL, OPT_STDOUT },
		{ "purge-days", required_argument, NULL, OPT_PURGE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	char *end;

	*opt = (struct report_options){ MW_DEFAULT_POLICY, NULL, "yesterday", ".", false, 0 };
	while ((c = getopt_long(argc, argv, "c:d:p:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt->policy_path = optarg;
			break;
		case 'd':
			opt->domain = optarg;
			break;
		case 'p':
			opt->period = optarg;
			break;
		case 'o':
			opt->out_dir = optarg;
			break;
		case OPT_STDOUT:
			opt->to_stdout = true;
			break;
		case OPT_PURGE:
			errno = 0;
			opt->purge_days = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || opt->purge_days < 1 ||
			    opt->purge_days > 36500) {
				fprintf(stderr, "mailward report: --purge-days: a number of days, "
				                "1 to 36500\n");
				return EX_USAGE;
			}
			break;
		case 'h':
			report_usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "Try 'mailward report --help'.\n");
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mailward report: unexpected argument \"%s\"\n", argv[optind]);
		return EX_USAGE;
	}
	return 0;
}

/* -------------------------------------------------------------- periods */

/* Does text have exactly this shape ('d' a digit, anything else itself)? */
static bool
has_shape(const char *text, const char *shape)
{
	for (; *shape; text++, shape++)
		if (*shape == 'd' ? !(*text >= '0' && *text <= '9') : *text != *shape)
			return false;
	return *text == '\0';
}

/* "YYYY-MM-DD", "YYYY-MM-DDTHH:MM" or "...:SS", optional Z; UTC.  -1 if not. */
static int
parse_iso(const char *text, time_t *out)
{
	static const char *const shapes[] = { "dddd-dd-dd",           "dddd-dd-ddTdd:dd",
		                              "dddd-dd-ddTdd:ddZ",    "dddd-dd-ddTdd:dd:dd",
		                              "dddd-dd-ddTdd:dd:ddZ", NULL };
	struct tm tm = { 0 }, asked;
	bool ok = false;

	for (int i = 0; shapes[i] != NULL; i++)
		ok = ok || has_shape(text, shapes[i]);
	if (!ok)
		return -1;
	sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	       &tm.tm_min, &tm.tm_sec);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	asked = tm;
	*out = timegm(&tm);
	/* timegm() moves 2026-02-30 into March: such a date is no date. */
	if (asked.tm_mday != tm.tm_mday || asked.tm_mon != tm.tm_mon ||
	    asked.tm_hour != tm.tm_hour || asked.tm_min != tm.tm_min || asked.tm_sec != tm.tm_sec)
		return -1;
	return 0;
}

/* The period named by text, as inclusive seconds; -1 after saying why. */
static int
parse_period(const char *text, time_t now, time_t *begin, time_t *end)
{
	time_t midnight = now - now % DAY;
	const char *dots = strstr(text, "..");

	if (strcmp(text, "yesterday") == 0) {
		*begin = midnight - DAY;
		*end = midnight - 1;
	} else if (strcmp(text, "today") == 0) {
		*begin = midnight;
		*end = now;
	} else if (strcmp(text, "last-24h") == 0) {
		*begin = now - DAY + 1;
		*end = now;
	} else if (dots != NULL) {
		char *from = xstrndup(text, (size_t)(dots - text));
		time_t until;
		int bad = parse_iso(from, begin) < 0 || parse_iso(dots + 2, &until) < 0;
		free(from);
		if (bad || until <= *begin) {
			fprintf(stderr, "mailward report: --period %s: %s\n", text,
			        bad ? "FROM and UNTIL must be dates (2026-11-23) or times "
			              "(2026-11-23T06:00:00Z) in UTC"
			            : "UNTIL must come after FROM");
			return -1;
		}
		*end = until - 1;
	} else {
		fprintf(stderr,
		        "mailward report: --period %s: yesterday, today, last-24h or FROM..UNTIL\n",
		        text);
		return -1;
	}
	return 0;
}

/* ----------------------------------------------------------------- setup */

struct report_run {
	struct report_options opt;
	struct policy *policy;
	struct store *store;
	struct report_meta meta;
	char host[256];
	time_t now;
};

/* Names used in file names: what a domain may hold, nothing else. */
static bool
safe_name(const char *s)
{
	if (*s == '\0' || *s == '.' || strlen(s) > 253)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return false;
	return true;
}

static int
load_policy(struct report_run *run)
{
	struct buf errors = BUF_INIT;
	const struct policy *p;

	run->policy = policy_load(run->opt.policy_path, &errors);
	if (run->policy == NULL) {
		fprintf(stderr, "%smailward report: %s refused\n", buf_str(&errors),
		        run->opt.policy_path);
		buf_free(&errors);
		return EX_CONFIG;
	}
	p = run->policy;
	if (*p->report_email == '\0') {
		fprintf(stderr,
		        "mailward report: %s: inbound.report_email is empty; reports "
		        "must name a contact address\n",
		        run->opt.policy_path);
		return EX_CONFIG;
	}
	if (gethostname(run->host, sizeof(run->host) - 1) < 0)
		snprintf(run->host, sizeof(run->host), "localhost");
	run->meta.receiver = *p->authserv_id ? p->authserv_id : run->host;
	run->meta.org_name = *p->report_org_name ? p->report_org_name : run->meta.receiver;
	run->meta.email = p->report_email;
	if (!safe_name(run->meta.receiver)) {
		fprintf(stderr,
		        "mailward report: receiver name \"%s\" (inbound.authserv_id or "
		        "the host name) cannot be part of a file name\n",
		        run->meta.receiver);
		return EX_CONFIG;
	}
	return 0;
}

static int
open_store(struct report_run *run)
{
	const char *path = run->policy->store_path;
	struct buf err = BUF_INIT;

	/* store_open() would create a missing file; for a reader that hides a mistake. */
	if (access(path, R_OK | W_OK) < 0) {
		fprintf(stderr, "mailward report: %s: %s%s\n", path, strerror(errno),
		        errno == ENOENT ? " (the milter creates it; is store.path right?)" : "");
		return EX_NOINPUT;
	}
	run->store = store_open(path, &err);
	if (run->store == NULL) {
		fprintf(stderr, "mailward report: %s\n", buf_str(&err));
		buf_free(&err);
		return EX_NOINPUT;
	}
	return 0;
}

/* ---------------------------------------------------------------- output */

/* Write DIR/NAME via a hidden temporary name; 0 or EX_CANTCREAT. */
static int
write_file(const char *dir, const char *name, const struct buf *xml)
{
	char *tmp = xasprintf("%s/.%s.tmp", dir, name), *path = xasprintf("%s/%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), rc = 0;

	if (fd < 0 || write(fd, xml->data, xml->len) != (ssize_t)xml->len || fsync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "mailward report: %s: %s\n", fd < 0 ? tmp : path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		rc = EX_CANTCREAT;
	}
	free(tmp);
	free(path);
	return rc;
}

/* Build, then write or print, one domain's report; *made counts reports. */
static int
report_domain(struct report_run *run, const char *domain, int *made)
{
	struct buf xml = BUF_INIT, err = BUF_INIT;
	struct report_summary sum;
	int rc = 0;

	if (!safe_name(domain)) {
		fprintf(stderr,
		        "mailward report: skipping policy domain \"%s\": not a domain name\n",
		        domain);
		return 0;
	}
	if (report_xml_build(run->store, &run->meta, domain, &xml, &sum, &err) < 0) {
		fprintf(stderr, "mailward report: %s\n", buf_str(&err));
		rc = EX_IOERR;
	} else if (sum.records > 0) {
		char *name = xasprintf("%s!%s!%lld!%lld.xml", run->meta.receiver, domain,
		                       (long long)run->meta.begin, (long long)run->meta.end);
		if (run->opt.to_stdout)
			fwrite(xml.data, 1, xml.len, stdout);
		else
			rc = write_file(run->opt.out_dir, name, &xml);
		if (rc == 0)
			fprintf(run->opt.to_stdout ? stderr : stdout,
			        "%s/%s domain=%s records=%lu messages=%lu report_id=%s rua=%s\n",
			        run->opt.to_stdout ? "-" : run->opt.out_dir, name, domain,
			        sum.records, sum.messages, sum.report_id, *sum.rua ? sum.rua : "-");
		(*made)++;
		free(name);
	}
	free(sum.rua);
	buf_free(&xml);
	buf_free(&err);
	return rc;
}

static int
report_all(struct report_run *run)
{
	struct buf err = BUF_INIT;
	char **domains = NULL;
	size_t count = 0;
	int rc = 0, made = 0;

	if (run->opt.domain != NULL) {
		domains = xcalloc(1, sizeof(char *));
		domains[count++] = xstrdup(run->opt.domain);
		for (char *p = domains[0]; *p; p++)
			*p = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
	} else if (dmarc_history_domains(run->store, run->meta.begin, run->meta.end, &domains,
	                                 &count, &err) < 0) {
		fprintf(stderr, "mailward report: %s\n", buf_str(&err));
		buf_free(&err);
		return EX_IOERR;
	}
	if (run->opt.to_stdout && count > 1) {
		fprintf(stderr,
		        "mailward report: --stdout: %zu policy domains have reports for "
		        "this period; pick one with --domain\n",
		        count);
		rc = EX_USAGE;
	}
	for (size_t i = 0; rc == 0 && i < count; i++)
		rc = report_domain(run, domains[i], &made);
	if (rc == 0 && made == 0)
		fprintf(run->opt.to_stdout ? stderr : stdout,
		        "mailward report: no DMARC evaluations recorded%s%s from %lld to %lld; "
		        "nothing to report\n",
		        run->opt.domain ? " for " : "", run->opt.domain ? run->opt.domain : "",
		        (long long)run->meta.begin, (long long)run->meta.end);
	dmarc_history_domains_free(domains, count);
	return rc;
}

static int
purge(struct report_run *run)
{
	struct buf err = BUF_INIT;
	long gone = dmarc_history_purge(run->store, run->now - run->opt.purge_days * DAY, &err);

	if (gone < 0) {
		fprintf(stderr, "mailward report: purge: %s\n", buf_str(&err));
		buf_free(&err);
		return EX_IOERR;
	}
	fprintf(run->opt.to_stdout ? stderr : stdout,
	        "mailward report: purged %ld evaluations older than %ld days\n", gone,
	        run->opt.purge_days);
	return 0;
}

int
report_main(int argc, char **argv)
{
	struct report_run run = { .now = time(NULL) };
	int rc = parse_options(argc, argv, &run.opt);

	if (rc == 0 && parse_period(run.opt.period, run.now, &run.meta.begin, &run.meta.end) < 0)
		rc = EX_USAGE;
	if (rc == 0)
		rc = load_policy(&run);
	if (rc == 0)
		rc = open_store(&run);
	if (rc == 0)
		rc = report_all(&run);
	if (rc == 0 && run.opt.purge_days > 0)
		rc = purge(&run);
	store_close(run.store);
	if (run.policy != NULL)
		policy_release(run.policy);
	return rc;
}
