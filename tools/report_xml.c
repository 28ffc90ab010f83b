/*
 * report_xml - an RFC 7489 aggregate report from the history; see
 * report_xml.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/dmarc_history.h"
#include "common/utf8.h"
#include "common/xalloc.h"
#include "tools/report_xml.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* Bytes at p that XML 1.0 does not allow: C0 controls, U+FFFE, U+FFFF. */
static size_t
not_xml_char(const unsigned char *p)
{
	if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
		return 1;
	if (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
		return 3;
	return 0;
}

void
report_xml_text(struct buf *out, const char *text)
{
	char *clean = utf8_sanitize(text, strlen(text));

	buf_append(out, "", 0);
	for (const unsigned char *p = (const unsigned char *)clean; *p;) {
		size_t bad = not_xml_char(p);
		if (bad) {
			buf_puts(out, REPLACEMENT);
			p += bad;
			continue;
		}
		switch (*p) {
		case '&':
			buf_puts(out, "&amp;");
			break;
		case '<':
			buf_puts(out, "&lt;");
			break;
		case '>':
			buf_puts(out, "&gt;");
			break;
		case '"':
			buf_puts(out, "&quot;");
			break;
		case '\'':
			buf_puts(out, "&apos;");
			break;
		default:
			buf_append(out, p, 1);
		}
		p++;
	}
	free(clean);
}

/* <name>text</name> on its own line, depth levels in. */
static void
element(struct buf *out, int depth, const char *name, const char *text)
{
	buf_printf(out, "%*s<%s>", depth * 2, "", name);
	report_xml_text(out, text);
	buf_printf(out, "</%s>\n", name);
}

static void
element_number(struct buf *out, int depth, const char *name, long long value)
{
	buf_printf(out, "%*s<%s>%lld</%s>\n", depth * 2, "", name, value, name);
}

static void
open_tag(struct buf *out, int depth, const char *name)
{
	buf_printf(out, "%*s<%s>\n", depth * 2, "", name);
}

static void
close_tag(struct buf *out, int depth, const char *name)
{
	buf_printf(out, "%*s</%s>\n", depth * 2, "", name);
}

/* IPv4 as stored; IPv6 as eight groups (the schema's IPAddress pattern). */
static void
source_ip_text(const char *ip, char *out, size_t outlen)
{
	unsigned char a[16];
	size_t n = 0;

	if (inet_pton(AF_INET6, ip, a) != 1) {
		snprintf(out, outlen, "%s", ip);
		return;
	}
	for (int i = 0; i < 8 && n < outlen; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%x", i ? ":" : "",
		                      (unsigned)(a[2 * i] << 8 | a[2 * i + 1]));
}

static const char *
word(enum dmarc_vocab vocab, int value)
{
	const char *w = dmarc_vocab_name(vocab, value);

	return w ? w : "none";
}

static void
record_row(struct buf *out, const struct dmarc_row *row, unsigned long count)
{
	char ip[48];

	source_ip_text(row->source_ip, ip, sizeof(ip));
	open_tag(out, 2, "row");
	element(out, 3, "source_ip", ip);
	element_number(out, 3, "count", (long long)count);
	open_tag(out, 3, "policy_evaluated");
	element(out, 4, "disposition", word(DMARC_VOCAB_POLICY, (int)row->disposition));
	element(out, 4, "dkim", row->dkim_aligned ? "pass" : "fail");
	element(out, 4, "spf", row->spf_aligned ? "pass" : "fail");
	if (row->reason != DMARC_REASON_NONE) {
		open_tag(out, 4, "reason");
		element(out, 5, "type", word(DMARC_VOCAB_REASON, (int)row->reason));
		if (*row->reason_comment)
			element(out, 5, "comment", row->reason_comment);
		close_tag(out, 4, "reason");
	}
	close_tag(out, 3, "policy_evaluated");
	close_tag(out, 2, "row");
}

static void
record_identifiers(struct buf *out, const struct dmarc_row *row)
{
	open_tag(out, 2, "identifiers");
	if (*row->envelope_to)
		element(out, 3, "envelope_to", row->envelope_to);
	element(out, 3, "envelope_from", row->envelope_from);
	element(out, 3, "header_from", row->header_from);
	close_tag(out, 2, "identifiers");
}

static void
record_auth_results(struct buf *out, const struct dmarc_row *row)
{
	open_tag(out, 2, "auth_results");
	for (size_t i = 0; i < row->dkim_count; i++) {
		const struct dmarc_row_dkim *d = &row->dkim[i];
		open_tag(out, 3, "dkim");
		element(out, 4, "domain", d->domain);
		if (*d->selector)
			element(out, 4, "selector", d->selector);
		element(out, 4, "result", word(DMARC_VOCAB_DKIM, (int)d->result));
		if (*d->human_result)
			element(out, 4, "human_result", d->human_result);
		close_tag(out, 3, "dkim");
	}
	open_tag(out, 3, "spf");
	element(out, 4, "domain", row->spf_domain);
	element(out, 4, "scope", word(DMARC_VOCAB_SCOPE, (int)row->spf_scope));
	element(out, 4, "result", word(DMARC_VOCAB_SPF, (int)row->spf_result));
	close_tag(out, 3, "spf");
	close_tag(out, 2, "auth_results");
}

struct build {
	struct buf records;
	struct report_summary *sum;
	bool have_policy;
	time_t policy_time;
	struct dmarc_row_published policy; /* rua: NULL, kept in sum->rua */
};

/* A group from the store: one <record>; remember the latest policy. */
static int
add_record(const struct dmarc_row *row, unsigned long count, void *arg)
{
	struct build *b = arg;

	open_tag(&b->records, 1, "record");
	record_row(&b->records, row, count);
	record_identifiers(&b->records, row);
	record_auth_results(&b->records, row);
	close_tag(&b->records, 1, "record");
	b->sum->records++;
	b->sum->messages += count;
	if (!b->have_policy || row->time > b->policy_time) {
		b->have_policy = true;
		b->policy_time = row->time;
		b->policy = row->published;
		b->policy.rua = NULL;
		free(b->sum->rua);
		b->sum->rua = xstrdup(row->published.rua);
	}
	return 0;
}

static void
write_metadata(struct buf *xml, const struct report_meta *meta, const struct report_summary *sum)
{
	open_tag(xml, 1, "report_metadata");
	element(xml, 2, "org_name", meta->org_name);
	element(xml, 2, "email", meta->email);
	element(xml, 2, "report_id", sum->report_id);
	open_tag(xml, 2, "date_range");
	element_number(xml, 3, "begin", (long long)meta->begin);
	element_number(xml, 3, "end", (long long)meta->end);
	close_tag(xml, 2, "date_range");
	close_tag(xml, 1, "report_metadata");
}

/* RFC 7489's policy_published has no np= or t=: those stay in the store. */
static void
write_policy(struct buf *xml, const char *domain, const struct dmarc_row_published *pub)
{
	char fo[16];

	dmarc_fo_format(pub->fo, fo, sizeof(fo));
	open_tag(xml, 1, "policy_published");
	element(xml, 2, "domain", domain);
	element(xml, 2, "adkim", word(DMARC_VOCAB_ALIGN, (int)pub->adkim));
	element(xml, 2, "aspf", word(DMARC_VOCAB_ALIGN, (int)pub->aspf));
	element(xml, 2, "p", word(DMARC_VOCAB_POLICY, (int)pub->p));
	element(xml, 2, "sp", word(DMARC_VOCAB_POLICY, (int)pub->sp));
	element_number(xml, 2, "pct", (long long)pub->pct);
	element(xml, 2, "fo", fo);
	close_tag(xml, 1, "policy_published");
}

int
report_xml_build(struct store *store, const struct report_meta *meta, const char *domain,
                 struct buf *xml, struct report_summary *sum, struct buf *err)
{
	struct build b = { .records = BUF_INIT, .sum = sum };

	*sum = (struct report_summary){ 0 };
	report_xml_id(meta, domain, sum->report_id);
	if (dmarc_history_groups(store, domain, meta->begin, meta->end, add_record, &b, err) < 0) {
		buf_free(&b.records);
		free(sum->rua);
		sum->rua = NULL;
		return -1;
	}
	if (sum->records > 0) {
		buf_puts(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n");
		element(xml, 1, "version", "1.0");
		write_metadata(xml, meta, sum);
		write_policy(xml, domain, &b.policy);
		buf_append(xml, b.records.data, b.records.len);
		buf_puts(xml, "</feedback>\n");
	}
	buf_free(&b.records);
	return 0;
}

void
report_xml_id(const struct report_meta *meta, const char *domain, char out[REPORT_ID_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char *seed = xasprintf("%s!%s!%lld!%lld", meta->receiver, domain, (long long)meta->begin,
	                       (long long)meta->end);

	if (!EVP_Digest(seed, strlen(seed), md, &mdlen, EVP_sha256(), NULL))
		memset(md, 0, sizeof(md));
	for (int i = 0; i < REPORT_ID_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	free(seed);
}
