/*
 * dmarc_history - one store row per DMARC evaluation, for aggregate reports
 *
 * The milter records every inbound message it evaluates for DMARC with
 * dmarc_history_add(); "mailward report" reads the rows back grouped the
 * way an RFC 7489 aggregate report wants its <record> elements, and purges
 * old rows.  The vocabulary (policies, alignment modes, SPF and DKIM
 * results) is policy/dmarc.h's, so a struct dmarc_result fills a row
 * field for field; only the override reason is RFC 7489's own list.
 *
 * A row's strings belong to the caller; dmarc_history_add() copies what it
 * stores.  Domain names are stored in lower case without a trailing dot,
 * source addresses in their canonical text form (an IPv4-mapped IPv6
 * address as IPv4), so equal values group together whatever their
 * spelling.  NULL and "" are the same for every optional string.
 *
 * Every function is safe to call from many threads on one store: each
 * holds the store's lock for its whole unit of work (an insert is one
 * transaction: the row and its DKIM results, or nothing).  The callbacks
 * of the reading functions run with that lock held and must not use the
 * store themselves.
 */
#ifndef MW_DMARC_HISTORY_H
#define MW_DMARC_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/buf.h"
#include "common/store.h"
#include "policy/dmarc.h"

/* RFC 7489 PolicyOverrideType: why the disposition differs from the policy. */
enum dmarc_reason {
	DMARC_REASON_NONE,
	DMARC_REASON_FORWARDED,
	DMARC_REASON_SAMPLED_OUT,
	DMARC_REASON_TRUSTED_FORWARDER,
	DMARC_REASON_MAILING_LIST,
	DMARC_REASON_LOCAL_POLICY,
	DMARC_REASON_OTHER,
};

/* One DKIM signature's result, uninterpreted with respect to DMARC. */
struct dmarc_row_dkim {
	const char *domain;   /* d= */
	const char *selector; /* s=; optional */
	enum dmarc_dkim result;
	const char *human_result; /* optional, e.g. "bad signature" */
};

/* The DMARC record that applied, as published. */
struct dmarc_row_published {
	enum dmarc_align adkim;
	enum dmarc_align aspf;
	enum dmarc_policy p;
	enum dmarc_policy sp; /* as published, else p */
	enum dmarc_policy np; /* as published, else sp */
	unsigned pct;         /* 0..100; 100 when absent */
	unsigned fo;          /* DMARC_FO_* bits; 0 reads as fo=0 */
	bool testing;         /* t=y */
	const char *rua;      /* the rua= URIs, comma-separated; optional */
};

struct dmarc_row {
	time_t time; /* when the message was evaluated */
	const char *source_ip;
	const char *header_from;   /* RFC5322.From domain */
	const char *envelope_from; /* RFC5321.MailFrom domain; optional (null sender) */
	const char *envelope_to;   /* recipient domain; optional */
	const char *policy_domain; /* where the record that applied was found */
	struct dmarc_row_published published;
	enum dmarc_policy disposition; /* what was done: none, quarantine, reject */
	bool dkim_aligned;             /* an aligned DKIM pass */
	bool spf_aligned;              /* an aligned SPF pass */
	enum dmarc_reason reason;
	const char *reason_comment; /* optional */
	/* The SPF result: the MAIL FROM domain, or the HELO name for a null sender. */
	const char *spf_domain;
	enum dmarc_spf_scope spf_scope;
	enum dmarc_spf spf_result;
	const struct dmarc_row_dkim *dkim; /* every signature checked, in any order */
	size_t dkim_count;
};

/* Limits a row must keep (longer values are refused, not cut). */
#define DMARC_HISTORY_MAX_DOMAIN 255
#define DMARC_HISTORY_MAX_TEXT   1024 /* rua, comments, human results */
#define DMARC_HISTORY_MAX_DKIM   64

/* Record one evaluation: 0, or -1 with the reason in err (row unchanged). */
int dmarc_history_add(struct store *store, const struct dmarc_row *row, struct buf *err);
/*
 * Several rows in one transaction (what a busy milter does): rows that do
 * not pass the checks above are left out, each with its reason in err;
 * *added counts those stored.  -1 when the store failed (nothing stored).
 */
int dmarc_history_add_many(struct store *store, const struct dmarc_row *rows, size_t count,
                           size_t *added, struct buf *err);

/*
 * Called once per row or group; count is 1 for a row, the group's size for
 * a group.  Return 0 to go on, -1 to stop (the caller then returns -1).
 */
typedef int (*dmarc_history_fn)(const struct dmarc_row *row, unsigned long count, void *arg);

/*
 * Every row with begin <= time <= end (of policy_domain, or of all when
 * NULL), oldest first; DKIM results in the order they were added.  0, or
 * -1 with the reason in err (or when fn said stop).
 */
int dmarc_history_rows(struct store *store, const char *policy_domain, time_t begin, time_t end,
                       dmarc_history_fn fn, void *arg, struct buf *err);

/*
 * The <record>s of policy_domain's aggregate report for begin..end: rows
 * that agree in source address, identifiers, disposition, alignment,
 * override reason and comment, SPF result and set of DKIM results, one
 * call per group, largest first.  row->time and row->published come from
 * the group's latest row.  0, or -1 with the reason in err.
 */
int dmarc_history_groups(struct store *store, const char *policy_domain, time_t begin, time_t end,
                         dmarc_history_fn fn, void *arg, struct buf *err);

/*
 * The policy domains with rows in begin..end, sorted, into *domains (an
 * array of *count strings; free with dmarc_history_domains_free()).  0, or
 * -1 with the reason in err.
 */
int dmarc_history_domains(struct store *store, time_t begin, time_t end, char ***domains,
                          size_t *count, struct buf *err);
void dmarc_history_domains_free(char **domains, size_t count);

/*
 * Delete the rows from before `before` in batches (milter inserts wait for
 * one batch at most, not the whole purge): how many went, or -1 with the
 * reason in err.
 */
long dmarc_history_purge(struct store *store, time_t before, struct buf *err);

/* ------------------------------------------------------------- vocabulary */

/* The word lists of RFC 7489's report schema, shared by the store and reports. */
enum dmarc_vocab {
	DMARC_VOCAB_POLICY, /* enum dmarc_policy: none quarantine reject */
	DMARC_VOCAB_ALIGN,  /* enum dmarc_align: r s */
	DMARC_VOCAB_SPF,    /* enum dmarc_spf: none neutral pass fail softfail ... */
	DMARC_VOCAB_SCOPE,  /* enum dmarc_spf_scope: mfrom helo */
	DMARC_VOCAB_DKIM,   /* enum dmarc_dkim: none pass fail policy neutral ... */
	DMARC_VOCAB_REASON, /* enum dmarc_reason: none forwarded sampled_out ... */
};

/* The word for value, or NULL when out of range. */
const char *dmarc_vocab_name(enum dmarc_vocab vocab, int value);
/* The value of word, or -1 when it is not in the list. */
int dmarc_vocab_value(enum dmarc_vocab vocab, const char *word);

/* fo= bits as the record spells them ("0", "1:d"); at least 8 bytes. */
void dmarc_fo_format(unsigned fo, char *out, size_t outlen);
/* And back; unknown options are ignored. */
unsigned dmarc_fo_parse(const char *text);

#endif
