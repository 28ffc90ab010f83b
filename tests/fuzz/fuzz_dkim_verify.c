/*
 * fuzz_dkim_verify - DKIM verification of a whole message
 *
 * The input is a zone (fuzz.h: the key records, e.g.
 * "sel._domainkey.example.com TXT v=DKIM1; p=..."), "%%", then a message:
 * header fields (folded lines joined with LF, as a milter gets them), an
 * empty line, the body, fed in chunks of a size the input's length picks.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/dkim_verify.h"
#include "tests/fuzz/fuzz.h"

/* The time x= and t= are compared with: 2026-01-01. */
#define FUZZ_NOW 1767225600

/* One field: "Name: value" with continuation lines; returns where the next starts. */
static const char *
feed_field(struct dkim_verify *v, const char *p, const char *end)
{
	const char *stop = p;

	do {
		const char *nl = memchr(stop, '\n', (size_t)(end - stop));
		stop = nl != NULL ? nl + 1 : end;
	} while (stop < end && (*stop == ' ' || *stop == '\t'));

	const char *colon = memchr(p, ':', (size_t)(stop - p));
	if (colon != NULL) {
		char *name = xstrndup(p, (size_t)(colon - p));
		size_t vlen = (size_t)(stop - colon - 1);
		if (vlen > 0 && colon[vlen] == '\n')
			vlen--; /* the milter does not pass the last line end */
		char *value = xstrndup(colon + 1, vlen);
		dkim_verify_header(v, name, value);
		free(name);
		free(value);
	}
	return stop;
}

static void
feed_message(struct dkim_verify *v, const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len;

	while (p < end && *p != '\n')
		p = feed_field(v, p, end);
	if (p < end)
		p++; /* the empty line */
	size_t chunk = len % 61 + 1;
	while (p < end) {
		size_t n = (size_t)(end - p) < chunk ? (size_t)(end - p) : chunk;
		dkim_verify_body(v, (const unsigned char *)p, n);
		p += n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts parts;
	struct dkim_verify_options options;
	const struct dkim_result *results;

	fuzz_quiet();
	fuzz_split(data, size, 2, &parts);
	if (parts.count == 2) {
		struct dns_resolver *dns = fuzz_zone_load(parts.part[0]);
		dkim_verify_options_default(&options);
		struct dkim_verify *v = dkim_verify_new(&options);
		feed_message(v, parts.part[1], parts.len[1]);
		dkim_verify_finish(v, dns, NULL, FUZZ_NOW);
		size_t n = dkim_verify_results(v, &results);
		for (size_t i = 0; i < n; i++)
			if (results[i].verdict == DKIM_PASS && results[i].domain == NULL)
				abort(); /* a pass for no domain */
		dkim_verify_free(v);
		dns_resolver_free(dns);
	}
	fuzz_parts_free(&parts);
	return 0;
}
