/*
 * fuzz_dmarc - DMARC records, discovery and evaluation
 *
 * The input is a zone (fuzz.h: "_dmarc.example.com TXT v=DMARC1; p=..."),
 * "%%", one line "FROM-DOMAIN SPF-DOMAIN SPF DKIM-DOMAIN DKIM" (results
 * as digits: the enum values), "%%", then one record that is parsed on its
 * own, binary-safe.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "policy/dmarc.h"
#include "tests/fuzz/fuzz.h"

struct eval_words {
	char *from, *spf_domain, *dkim_domain;
	unsigned spf, dkim, draw;
};

static char *
word_or(char **save, char *fallback)
{
	char *w = strtok_r(NULL, " \n", save);

	return w != NULL ? w : fallback;
}

static void
eval_parse(char *line, struct eval_words *w)
{
	char *save = NULL;
	char *first = strtok_r(line, " \n", &save);

	w->from = first != NULL ? first : "example.com";
	w->spf_domain = word_or(&save, "example.com");
	w->spf = (unsigned)strtoul(word_or(&save, "2"), NULL, 10) % (DMARC_SPF_PERMERROR + 1);
	w->dkim_domain = word_or(&save, "example.com");
	w->dkim = (unsigned)strtoul(word_or(&save, "1"), NULL, 10) % (DMARC_DKIM_PERMERROR + 1);
	w->draw = (unsigned)strtoul(word_or(&save, "50"), NULL, 10) % 100;
}

static unsigned
fixed_draw(void *arg)
{
	return *(const unsigned *)arg;
}

static void
fuzz_evaluate(struct dns_resolver *dns, struct eval_words *w)
{
	struct dmarc_dkim_result dkim = { w->dkim_domain, "sel", (enum dmarc_dkim)w->dkim };
	struct dmarc_input in = {
		.header_from = w->from,
		.envelope_from = w->spf_domain,
		.spf_domain = w->spf_domain,
		.spf = (enum dmarc_spf)w->spf,
		.dkim = &dkim,
		.n_dkim = 1,
		.pct_draw = fixed_draw,
		.pct_arg = &w->draw,
	};
	struct dmarc_result res;
	char *org = NULL;

	dmarc_evaluate(dns, NULL, &in, &res);
	dmarc_result_free(&res);
	if (dmarc_org_domain(dns, NULL, w->from, &org, NULL) == 0)
		free(org);
}

static void
fuzz_record(const char *text, size_t len)
{
	struct dmarc_record rec, copy;
	struct buf err = BUF_INIT;

	memset(&rec, 0, sizeof(rec));
	if (dmarc_record_parse(text, len, &rec, &err) != DMARC_PARSE_NOT_DMARC) {
		dmarc_record_copy(&copy, &rec);
		dmarc_record_free(&copy);
		dmarc_record_free(&rec);
	}
	buf_free(&err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts parts;
	struct eval_words w;

	fuzz_quiet();
	fuzz_split(data, size, 3, &parts);
	if (parts.count >= 2) {
		struct dns_resolver *dns = fuzz_zone_load(parts.part[0]);
		eval_parse(parts.part[1], &w);
		fuzz_evaluate(dns, &w);
		dns_resolver_free(dns);
	}
	fuzz_record(parts.part[parts.count - 1], parts.len[parts.count - 1]);
	fuzz_parts_free(&parts);
	return 0;
}
