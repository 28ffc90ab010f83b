/*
 * spf-check - run mailward's SPF check for test cases
 *
 *   spf-check [--forward ADDR@PORT]... [--zone-forward ZONE=ADDR@PORT]...
 *             [--static RECORDS] [--timeout MS] [--receiver NAME]
 *             [IP MAIL_FROM HELO]
 *
 * One case from the arguments, or one per line of standard input as
 * "IP<TAB>MAIL_FROM<TAB>HELO" (an empty MAIL_FROM is the null sender, which
 * checks postmaster@HELO).  Each case prints one line:
 *
 *   RESULT<TAB>EXPLANATION<TAB>MECHANISM<TAB>PROBLEM
 *
 * with "-" for an empty field and bytes outside printable ASCII (and "\")
 * written as \xHH.  --forward asks real DNS servers through the libunbound
 * backend, --zone-forward sends the names of one zone to a server of its
 * own (as mailward's dns.zones setting does; it also lifts libunbound's
 * built-in answers for names such as test. or 2.0.192.in-addr.arpa);
 * --static loads an in-memory zone from a file of lines
 * "NAME TYPE RDATA" (zone-file syntax for A, AAAA, MX, PTR and TXT, plus
 * CNAME, and "NAME TEMPFAIL TYPE" for a lookup that fails), the format
 * the SPF differential test's generator writes.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/dns.h"
#include "common/netaddr.h"
#include "common/spf.h"
#include "common/xalloc.h"

struct options {
	char **servers;
	size_t n_servers;
	struct dns_forward_zone *zones;
	size_t n_zones;
	const char *static_file;
	unsigned timeout_ms;
	const char *receiver;
};

static void
usage(void)
{
	fprintf(stderr, "usage: spf-check [--forward ADDR@PORT]... "
	                "[--zone-forward ZONE=ADDR@PORT]... [--static RECORDS] [--timeout MS] "
	                "[--receiver NAME] [IP MAIL_FROM HELO]\n");
	exit(2);
}

/* One zone-file character-string ("..." with \DDD and \X escapes). */
static const char *
txt_string(const char *p, struct buf *out)
{
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		if (*p != '\\') {
			buf_append(out, p++, 1);
			continue;
		}
		p++;
		if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2])) {
			char c = (char)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
			buf_append(out, &c, 1);
			p += 3;
		} else if (*p) {
			buf_append(out, p++, 1);
		}
	}
	return *p == '"' ? p + 1 : NULL;
}

static char *
strip_dot(char *name)
{
	size_t len = strlen(name);

	if (len > 1 && name[len - 1] == '.')
		name[len - 1] = '\0';
	return name;
}

static enum dns_type
type_parse(const char *s)
{
	static const struct {
		const char *name;
		enum dns_type type;
	} types[] = { { "A", DNS_T_A },
		      { "AAAA", DNS_T_AAAA },
		      { "MX", DNS_T_MX },
		      { "PTR", DNS_T_PTR },
		      { "TXT", DNS_T_TXT } };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, types[i].name) == 0)
			return types[i].type;
	return 0;
}

static int
static_line(struct dns_resolver *r, char *line)
{
	char *save = NULL, *name = strtok_r(line, " \t", &save);
	char *type = strtok_r(NULL, " \t", &save), *rest = save;
	struct buf txt = BUF_INIT;
	enum dns_type t;

	if (name == NULL || name[0] == ';' || name[0] == '#')
		return 0;
	if (type == NULL || rest == NULL)
		return -1;
	strip_dot(name);
	while (*rest == ' ' || *rest == '\t')
		rest++;
	rest[strcspn(rest, "\r\n")] = '\0';
	if (strcasecmp(type, "TEMPFAIL") == 0) {
		if ((t = type_parse(rest)) == 0)
			return -1;
		dns_static_fail(r, name, t);
		return 0;
	}
	switch (t = type_parse(type)) {
	case DNS_T_A:
	case DNS_T_AAAA:
		dns_static_addr(r, name, rest);
		return 0;
	case DNS_T_MX:
		save = NULL;
		type = strtok_r(rest, " \t", &save);
		rest = strtok_r(NULL, " \t", &save);
		if (type == NULL || rest == NULL)
			return -1;
		dns_static_mx(r, name, (uint16_t)atoi(type), strip_dot(rest));
		return 0;
	case DNS_T_PTR:
		dns_static_ptr(r, name, strip_dot(rest));
		return 0;
	case DNS_T_TXT:
		while (*rest == '"') {
			if ((rest = (char *)txt_string(rest, &txt)) == NULL)
				break;
			while (*rest == ' ' || *rest == '\t')
				rest++;
		}
		if (rest != NULL && *rest == '\0')
			dns_static_add(r, name, DNS_T_TXT, txt.data ? txt.data : "", txt.len, 0);
		buf_free(&txt);
		return rest != NULL && *rest == '\0' ? 0 : -1;
	}
	return -1;
}

/* A CNAME of the records file: the alias answers with the target's records. */
struct alias {
	char *name;
	char *target;
};

/* Lines of the form "ALIAS CNAME TARGET." */
static size_t
aliases_read(char **lines, size_t n, struct alias **out)
{
	size_t count = 0;

	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		char name[256], type[16], target[256];
		if (sscanf(lines[i], "%255s %15s %255s", name, type, target) != 3 ||
		    strcasecmp(type, "CNAME") != 0)
			continue;
		*out = xreallocarray(*out, count + 1, sizeof(**out));
		(*out)[count].name = xstrdup(strip_dot(name));
		(*out)[count++].target = xstrdup(strip_dot(target));
	}
	return count;
}

/* Does alias lead to name through at most 10 CNAMEs? */
static bool
alias_reaches(const struct alias *a, size_t n, const char *alias, const char *name)
{
	for (int hop = 0; hop < 10; hop++) {
		size_t i;
		for (i = 0; i < n && strcasecmp(a[i].name, alias) != 0; i++)
			;
		if (i == n)
			return false;
		alias = a[i].target;
		if (strcasecmp(alias, name) == 0)
			return true;
	}
	return false;
}

static void
load_line(struct dns_resolver *r, const char *path, unsigned lineno, const char *line,
          const char *owner)
{
	char *copy = xstrdup(line), *rest = copy + strcspn(copy, " \t");
	char *full = xasprintf("%s%s", owner, rest);

	if (static_line(r, full) < 0) {
		fprintf(stderr, "%s:%u: cannot read this record\n", path, lineno);
		exit(1);
	}
	free(full);
	free(copy);
}

static struct dns_resolver *
static_load(const char *path)
{
	struct dns_resolver *r = dns_static_new();
	FILE *f = fopen(path, "r");
	char *line = NULL, **lines = NULL;
	size_t cap = 0, n = 0, n_alias;
	struct alias *alias;

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	while (getline(&line, &cap, f) > 0) {
		lines = xreallocarray(lines, n + 1, sizeof(*lines));
		lines[n++] = xstrdup(line);
	}
	free(line);
	fclose(f);
	n_alias = aliases_read(lines, n, &alias);
	for (size_t i = 0; i < n; i++) {
		char owner[256], type[16];
		if (sscanf(lines[i], "%255s %15s", owner, type) != 2 || owner[0] == ';' ||
		    owner[0] == '#' || strcasecmp(type, "CNAME") == 0)
			continue;
		strip_dot(owner);
		load_line(r, path, (unsigned)i + 1, lines[i], owner);
		for (size_t k = 0; k < n_alias; k++)
			if (alias_reaches(alias, n_alias, alias[k].name, owner))
				load_line(r, path, (unsigned)i + 1, lines[i], alias[k].name);
	}
	for (size_t k = 0; k < n_alias; k++) {
		free(alias[k].name);
		free(alias[k].target);
	}
	free(alias);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return r;
}

static struct dns_resolver *
resolver_open(const struct options *opt)
{
	struct dns_config cfg = { 0 };
	struct buf err = BUF_INIT;
	struct dns_resolver *r;

	if (opt->static_file != NULL)
		return static_load(opt->static_file);
	cfg.nameservers = opt->servers;
	cfg.n_nameservers = opt->n_servers;
	cfg.zones = opt->zones;
	cfg.n_zones = opt->n_zones;
	cfg.query_timeout_ms = opt->timeout_ms;
	cfg.message_budget_ms = opt->timeout_ms * 2;
	if ((r = dns_resolver_new(&cfg, &err)) == NULL) {
		fprintf(stderr, "spf-check: %s\n", buf_str(&err));
		exit(1);
	}
	buf_free(&err);
	return r;
}

/* "ZONE=ADDR@PORT" */
static void
zone_add(struct options *opt, char *arg)
{
	char *eq = strchr(arg, '=');
	struct dns_forward_zone *z;

	if (eq == NULL)
		usage();
	opt->zones = xreallocarray(opt->zones, opt->n_zones + 1, sizeof(*opt->zones));
	z = &opt->zones[opt->n_zones++];
	z->zone = xstrndup(arg, (size_t)(eq - arg));
	z->servers = xmalloc(sizeof(char *));
	z->servers[0] = eq + 1;
	z->n_servers = 1;
}

static void
print_field(const char *s)
{
	if (s == NULL || *s == '\0') {
		fputs("-", stdout);
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c >= 0x7f || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static void
run_case(struct dns_resolver *r, const struct options *opt, const char *ip, const char *from,
         const char *helo)
{
	struct sockaddr_storage ss;
	struct spf_request req = { 0 };
	struct spf_outcome out;
	struct dns_budget budget;

	if (!sockaddr_pton(ip, &ss)) {
		printf("permerror\t-\t-\tnot an IP address\n");
		return;
	}
	req.client = (const struct sockaddr *)&ss;
	req.mail_from = from;
	req.helo = helo;
	req.receiver = opt->receiver;
	dns_budget_start(r, &budget);
	spf_check_mail_from(r, &budget, &req, &out);
	fputs(spf_result_name(out.result), stdout);
	putchar('\t');
	print_field(out.explanation);
	putchar('\t');
	print_field(out.mechanism);
	putchar('\t');
	print_field(out.problem);
	putchar('\n');
	fflush(stdout);
	spf_outcome_free(&out);
}

static void
run_stdin(struct dns_resolver *r, const struct options *opt)
{
	char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, stdin) > 0) {
		char *fields[3] = { line, NULL, NULL };
		line[strcspn(line, "\r\n")] = '\0';
		for (int i = 1; i < 3; i++) {
			char *tab = fields[i - 1] ? strchr(fields[i - 1], '\t') : NULL;
			if (tab != NULL) {
				*tab = '\0';
				fields[i] = tab + 1;
			}
		}
		run_case(r, opt, fields[0], fields[1] ? fields[1] : "", fields[2] ? fields[2] : "");
	}
	free(line);
}

int
main(int argc, char **argv)
{
	struct options opt = { .timeout_ms = 3000 };
	struct dns_resolver *r;
	int i = 1;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--forward") == 0) {
			opt.servers = xreallocarray(opt.servers, opt.n_servers + 1, sizeof(char *));
			opt.servers[opt.n_servers++] = argv[++i];
		} else if (strcmp(argv[i], "--zone-forward") == 0) {
			zone_add(&opt, argv[++i]);
		} else if (strcmp(argv[i], "--static") == 0) {
			opt.static_file = argv[++i];
		} else if (strcmp(argv[i], "--timeout") == 0) {
			opt.timeout_ms = (unsigned)atoi(argv[++i]);
		} else if (strcmp(argv[i], "--receiver") == 0) {
			opt.receiver = argv[++i];
		} else {
			usage();
		}
	}
	if (argc - i != 0 && argc - i != 3)
		usage();
	r = resolver_open(&opt);
	if (argc - i == 3)
		run_case(r, &opt, argv[i], argv[i + 1], argv[i + 2]);
	else
		run_stdin(r, &opt);
	dns_resolver_free(r);
	free(opt.servers);
	for (size_t k = 0; k < opt.n_zones; k++) {
		free(opt.zones[k].zone);
		free(opt.zones[k].servers);
	}
	free(opt.zones);
	return 0;
}
