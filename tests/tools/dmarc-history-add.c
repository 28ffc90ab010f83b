/*
 * dmarc-history-add - fill a store with DMARC history rows for the tests
 *
 *   dmarc-history-add STORE < ROWS
 *
 * One row per line of "key=value" words (blank lines and # comments
 * skipped); values are %XX-decoded, so "%20" is a space and "%26" an
 * ampersand.  Every key but ip has a default:
 *
 *   n=1 time=NOW ip=ADDRESS from=example.com mfrom=FROM rcpt= domain=FROM
 *   adkim=r aspf=r p=none sp=P np=SP pct=100 fo=0 t=n rua= disp=none
 *   dkim_align=fail spf_align=fail reason=none comment= spf_domain=MFROM
 *   scope=mfrom spf=none dkim=DOMAIN:SELECTOR:RESULT[:HUMAN] (repeatable)
 *
 * n=N adds the row N times.  Prints "added N rows"; exits 1 on the first
 * row the store refuses, 2 on a line it cannot read.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/dmarc_history.h"
#include "common/xalloc.h"

#define MAX_WORDS 128

struct spec {
	char *value[MAX_WORDS]; /* decoded values, owned */
	size_t count;
	struct dmarc_row row;
	struct dmarc_row_dkim dkim[DMARC_HISTORY_MAX_DKIM + 1];
	long repeat;
	const char *p, *sp, *np; /* policy words until all are known */
};

static char *
decode(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	for (; *s; s++) {
		unsigned c;
		if (*s == '%' && sscanf(s + 1, "%2x", &c) == 1) {
			*o++ = (char)c;
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

static int
word_or_die(enum dmarc_vocab vocab, const char *key, const char *value)
{
	int v = dmarc_vocab_value(vocab, value);

	if (v < 0) {
		fprintf(stderr, "dmarc-history-add: %s=%s: unknown value\n", key, value);
		exit(2);
	}
	return v;
}

/* "domain:selector:result[:human]" (human may hold colons). */
static void
add_dkim(struct spec *s, char *value)
{
	char *sel = strchr(value, ':'), *res = sel ? strchr(sel + 1, ':') : NULL, *human;

	if (res == NULL || s->row.dkim_count > DMARC_HISTORY_MAX_DKIM) {
		fprintf(stderr, "dmarc-history-add: dkim=%s: DOMAIN:SELECTOR:RESULT[:HUMAN]\n",
		        value);
		exit(2);
	}
	*sel++ = '\0';
	*res++ = '\0';
	human = strchr(res, ':');
	if (human != NULL)
		*human++ = '\0';
	s->dkim[s->row.dkim_count++] = (struct dmarc_row_dkim){
		value, sel, (enum dmarc_dkim)word_or_die(DMARC_VOCAB_DKIM, "dkim", res), human
	};
}

static void
set(struct spec *s, const char *key, char *value)
{
	struct dmarc_row *r = &s->row;

	if (strcmp(key, "n") == 0)
		s->repeat = atol(value);
	else if (strcmp(key, "time") == 0)
		r->time = (time_t)atoll(value);
	else if (strcmp(key, "ip") == 0)
		r->source_ip = value;
	else if (strcmp(key, "from") == 0)
		r->header_from = value;
	else if (strcmp(key, "mfrom") == 0)
		r->envelope_from = value;
	else if (strcmp(key, "rcpt") == 0)
		r->envelope_to = value;
	else if (strcmp(key, "domain") == 0)
		r->policy_domain = value;
	else if (strcmp(key, "adkim") == 0)
		r->published.adkim = (enum dmarc_align)word_or_die(DMARC_VOCAB_ALIGN, key, value);
	else if (strcmp(key, "aspf") == 0)
		r->published.aspf = (enum dmarc_align)word_or_die(DMARC_VOCAB_ALIGN, key, value);
	else if (strcmp(key, "p") == 0)
		s->p = value;
	else if (strcmp(key, "sp") == 0)
		s->sp = value;
	else if (strcmp(key, "np") == 0)
		s->np = value;
	else if (strcmp(key, "pct") == 0)
		r->published.pct = (unsigned)atoi(value);
	else if (strcmp(key, "fo") == 0)
		r->published.fo = dmarc_fo_parse(value);
	else if (strcmp(key, "t") == 0)
		r->published.testing = strcmp(value, "y") == 0;
	else if (strcmp(key, "rua") == 0)
		r->published.rua = value;
	else if (strcmp(key, "disp") == 0)
		r->disposition = (enum dmarc_policy)word_or_die(DMARC_VOCAB_POLICY, key, value);
	else if (strcmp(key, "dkim_align") == 0)
		r->dkim_aligned = strcmp(value, "pass") == 0;
	else if (strcmp(key, "spf_align") == 0)
		r->spf_aligned = strcmp(value, "pass") == 0;
	else if (strcmp(key, "reason") == 0)
		r->reason = (enum dmarc_reason)word_or_die(DMARC_VOCAB_REASON, key, value);
	else if (strcmp(key, "comment") == 0)
		r->reason_comment = value;
	else if (strcmp(key, "spf_domain") == 0)
		r->spf_domain = value;
	else if (strcmp(key, "scope") == 0)
		r->spf_scope = (enum dmarc_spf_scope)word_or_die(DMARC_VOCAB_SCOPE, key, value);
	else if (strcmp(key, "spf") == 0)
		r->spf_result = (enum dmarc_spf)word_or_die(DMARC_VOCAB_SPF, key, value);
	else if (strcmp(key, "dkim") == 0)
		add_dkim(s, value);
	else {
		fprintf(stderr, "dmarc-history-add: unknown key \"%s\"\n", key);
		exit(2);
	}
}

/* Defaults that depend on other keys. */
static void
finish(struct spec *s)
{
	struct dmarc_row *r = &s->row;

	if (r->envelope_from == NULL)
		r->envelope_from = r->header_from;
	if (r->policy_domain == NULL)
		r->policy_domain = r->header_from;
	if (r->spf_domain == NULL)
		r->spf_domain = r->envelope_from;
	s->sp = s->sp ? s->sp : s->p;
	s->np = s->np ? s->np : s->sp;
	r->published.p = (enum dmarc_policy)word_or_die(DMARC_VOCAB_POLICY, "p", s->p);
	r->published.sp = (enum dmarc_policy)word_or_die(DMARC_VOCAB_POLICY, "sp", s->sp);
	r->published.np = (enum dmarc_policy)word_or_die(DMARC_VOCAB_POLICY, "np", s->np);
	r->dkim = s->dkim;
}

static void
parse_line(char *line, struct spec *s)
{
	*s = (struct spec){ .repeat = 1, .p = "none" };
	s->row.time = time(NULL);
	s->row.header_from = "example.com";
	s->row.published.pct = 100;
	for (char *w = strtok(line, " \t\r\n"); w != NULL; w = strtok(NULL, " \t\r\n")) {
		char *eq = strchr(w, '=');
		if (eq == NULL || s->count == MAX_WORDS) {
			fprintf(stderr, "dmarc-history-add: \"%s\": expected key=value\n", w);
			exit(2);
		}
		*eq = '\0';
		s->value[s->count] = decode(eq + 1);
		set(s, w, s->value[s->count++]);
	}
	finish(s);
}

int
main(int argc, char **argv)
{
	struct buf err = BUF_INIT;
	struct store *store;
	char line[8192];
	long added = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: dmarc-history-add STORE < ROWS\n");
		return 2;
	}
	if ((store = store_open(argv[1], &err)) == NULL) {
		fprintf(stderr, "dmarc-history-add: %s\n", buf_str(&err));
		return 1;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		struct spec s;
		if (line[strspn(line, " \t\r\n")] == '\0' || line[strspn(line, " \t")] == '#')
			continue;
		parse_line(line, &s);
		for (long i = 0; i < s.repeat; i++, added++) {
			if (dmarc_history_add(store, &s.row, &err) < 0) {
				fprintf(stderr, "dmarc-history-add: %s\n", buf_str(&err));
				return 1;
			}
		}
		for (size_t i = 0; i < s.count; i++)
			free(s.value[i]);
	}
	store_close(store);
	printf("added %ld rows\n", added);
	return 0;
}
