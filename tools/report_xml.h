/*
 * report_xml - one DMARC aggregate report (RFC 7489 section 7.2 and
 * Appendix C) from the store's history
 *
 * report_xml_build() writes the <feedback> document of one policy domain
 * for one period: report_metadata, the policy published (the latest one
 * seen in the period), and one <record> per group of rows that agree in
 * everything a record says (dmarc_history_groups()).  The document is in
 * no XML namespace, as the large receivers send theirs; IPv6 sources are
 * written as eight groups, the only IPv6 form the RFC's schema accepts.
 * Text from mail (comments, human results) is made valid UTF-8 and
 * escaped; characters XML 1.0 cannot carry become U+FFFD.
 */
#ifndef MW_TOOLS_REPORT_XML_H
#define MW_TOOLS_REPORT_XML_H

#include <time.h>

#include "common/buf.h"
#include "common/store.h"

struct report_meta {
	const char *org_name;
	const char *email;
	const char *receiver; /* our domain: in file names and report IDs */
	time_t begin;         /* first second of the period */
	time_t end;           /* last second of the period (inclusive) */
};

#define REPORT_ID_LEN 32

struct report_summary {
	unsigned long records;
	unsigned long messages;
	char *rua; /* the rua= of the policy published; caller frees */
	char report_id[REPORT_ID_LEN + 1];
};

/*
 * The report of domain into xml (appended) and what it holds into *sum
 * (records 0: nothing recorded, xml untouched).  0, or -1 with the reason
 * in err.
 */
int report_xml_build(struct store *store, const struct report_meta *meta, const char *domain,
                     struct buf *xml, struct report_summary *sum, struct buf *err);

/*
 * The report ID: the same receiver, domain and period always give the same
 * ID (a report made again is recognisably the same report), any other
 * combination another; REPORT_ID_LEN hex digits.
 */
void report_xml_id(const struct report_meta *meta, const char *domain, char out[REPORT_ID_LEN + 1]);

/* Escaped text content: valid UTF-8, &<>"' as references. */
void report_xml_text(struct buf *out, const char *text);

#endif
