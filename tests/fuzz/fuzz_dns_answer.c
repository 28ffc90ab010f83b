/*
 * fuzz_dns_answer - DNS records as libunbound hands them to our resolver
 *
 * The first byte picks the type asked (A, AAAA, TXT, MX, PTR or another);
 * the rest is a list of records, each a two-byte length (network order)
 * and that many bytes of rdata, as in struct ub_result.  Found records
 * must be NUL-terminated at their length (dns.h promises it).
 */
#include "config.h"

#include <stdlib.h>
#include <unbound.h>

#include "common/dns_impl.h"
#include "tests/fuzz/fuzz.h"

#define MAX_RECORDS 64

static const enum dns_type types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_TXT, DNS_T_MX, DNS_T_PTR, 99 };

/* Cut the records out of data into res (pointers into a copy of each record). */
static void
records_parse(const uint8_t *data, size_t size, struct ub_result *res)
{
	size_t n = 0, pos = 0;

	while (n < MAX_RECORDS && size - pos >= 2) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		res->data[n] = xstrndup((const char *)data + pos, len);
		res->len[n] = (int)len;
		pos += len;
		n++;
	}
	res->data[n] = NULL;
}

static void
answer_check(const struct dns_answer *ans)
{
	if (ans->status != DNS_FOUND)
		return;
	for (size_t i = 0; i < ans->count; i++)
		if (ans->rr[i].data[ans->rr[i].len] != '\0')
			abort(); /* a record without its terminating NUL */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ub_result res = { 0 };
	struct dns_answer ans = { 0 };

	fuzz_quiet();
	if (size < 1)
		return 0;
	res.data = xcalloc(MAX_RECORDS + 1, sizeof(*res.data));
	res.len = xcalloc(MAX_RECORDS + 1, sizeof(*res.len));
	records_parse(data + 1, size - 1, &res);
	dns_unbound_records(&ans, types[data[0] % (sizeof(types) / sizeof(types[0]))], &res);
	answer_check(&ans);
	dns_answer_free(&ans);
	for (size_t i = 0; res.data[i] != NULL; i++)
		free(res.data[i]);
	free(res.data);
	free(res.len);
	return 0;
}
