/*
 * fuzz - what every libFuzzer target in tests/fuzz shares
 *
 * A target is one LLVMFuzzerTestOneInput() over one parser that reads
 * outside input.  Inputs that feed a parser several pieces (a message's
 * header and body, a domain and its TXT records) separate them with a line
 * "%%": seeds stay readable text, and the fuzzer learns the separator from
 * them.  Built only by ./configure --enable-fuzz (see tools/fuzz).
 */
#ifndef MW_FUZZ_H
#define MW_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "common/dns.h"
#include "common/log.h"
#include "common/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SEP     "\n%%\n"
#define FUZZ_SEP_LEN 4

/* The pieces of an input, in order; each a NUL-terminated copy (len counts any NUL inside). */
struct fuzz_parts {
	char *part[16];
	size_t len[16];
	size_t count;
};

/* Cut data at each "\n%%\n" into at most max (<= 16) pieces; the last takes the rest. */
static inline void
fuzz_split(const uint8_t *data, size_t size, size_t max, struct fuzz_parts *out)
{
	const char *p = (const char *)data, *end = p + size;

	out->count = 0;
	while (out->count < max) {
		const char *cut = NULL;

		if (out->count + 1 < max)
			cut = memmem(p, (size_t)(end - p), FUZZ_SEP, FUZZ_SEP_LEN);
		size_t n = cut != NULL ? (size_t)(cut - p) : (size_t)(end - p);
		out->part[out->count] = xstrndup(p, n);
		out->len[out->count] = n;
		out->count++;
		if (cut == NULL)
			break;
		p = cut + FUZZ_SEP_LEN;
	}
}

static inline void
fuzz_parts_free(struct fuzz_parts *parts)
{
	for (size_t i = 0; i < parts->count; i++)
		free(parts->part[i]);
	parts->count = 0;
}

/*
 * Fill an in-memory resolver from a zone piece, one record a line:
 *	NAME TXT text to the end of the line
 *	NAME A|AAAA address          (unparsable addresses are skipped)
 *	NAME MX PREF exchange
 *	NAME PTR target
 *	NAME FAIL TYPE               (that name and type answer TEMPFAIL)
 * Anything else is skipped: the fuzzer explores the parsers behind the
 * resolver, not this format.
 */
static inline enum dns_type
fuzz_zone_type(const char *word)
{
	static const struct {
		const char *name;
		enum dns_type type;
	} types[] = { { "TXT", DNS_T_TXT },
		      { "A", DNS_T_A },
		      { "AAAA", DNS_T_AAAA },
		      { "MX", DNS_T_MX },
		      { "PTR", DNS_T_PTR } };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(word, types[i].name) == 0)
			return types[i].type;
	return 0;
}

static inline void
fuzz_zone_line(struct dns_resolver *dns, char *line)
{
	char *name = strtok_r(line, " ", &line);
	char *type = strtok_r(NULL, " ", &line);
	unsigned char addr[16];

	if (name == NULL || type == NULL)
		return;
	const char *rest = line != NULL ? line : "";
	if (strcmp(type, "TXT") == 0)
		dns_static_txt(dns, name, rest);
	else if (strcmp(type, "A") == 0 && inet_pton(AF_INET, rest, addr) == 1)
		dns_static_add(dns, name, DNS_T_A, addr, 4, 0);
	else if (strcmp(type, "AAAA") == 0 && inet_pton(AF_INET6, rest, addr) == 1)
		dns_static_add(dns, name, DNS_T_AAAA, addr, 16, 0);
	else if (strcmp(type, "MX") == 0)
		dns_static_mx(dns, name, (uint16_t)strtoul(rest, (char **)&rest, 10),
		              rest[0] == ' ' ? rest + 1 : rest);
	else if (strcmp(type, "PTR") == 0)
		dns_static_ptr(dns, name, rest);
	else if (strcmp(type, "FAIL") == 0 && fuzz_zone_type(rest) != 0)
		dns_static_fail(dns, name, fuzz_zone_type(rest));
}

/* A resolver answering from zone (NUL-terminated; modified). */
static inline struct dns_resolver *
fuzz_zone_load(char *zone)
{
	struct dns_resolver *dns = dns_static_new();
	char *save = NULL;

	for (char *line = strtok_r(zone, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		fuzz_zone_line(dns, line);
	return dns;
}

/* Parsers log what they reject; the fuzzer's output should show crashes only. */
static inline void
fuzz_quiet(void)
{
	log_open("fuzz", LOG_TO_STDERR, 0);
	log_set_level(LOG_LEVEL_ERROR);
}

#endif
