/*
 * dmarc_history - DMARC evaluations in the store; see dmarc_history.h.
 *
 * The tables are created by store.c (schema version 2).  Grouping for
 * reports needs the set of a row's DKIM results as one comparable value:
 * dkim_digest is a SHA-256 over the row's normalized results in a fixed
 * order, computed at insert, so GROUP BY does the rest.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/dmarc_history.h"
#include "common/store_impl.h"
#include "common/xalloc.h"

/* ------------------------------------------------------------- vocabulary */

static const char *const policy_words[] = { "none", "quarantine", "reject", NULL };
static const char *const align_words[] = { "r", "s", NULL };
static const char *const spf_words[] = { "none",     "neutral",   "pass",      "fail",
	                                 "softfail", "temperror", "permerror", NULL };
static const char *const scope_words[] = { "mfrom", "helo", NULL };
static const char *const dkim_words[] = { "none",    "pass",      "fail",      "policy",
	                                  "neutral", "temperror", "permerror", NULL };
static const char *const reason_words[] = { "none",         "forwarded",
	                                    "sampled_out",  "trusted_forwarder",
	                                    "mailing_list", "local_policy",
	                                    "other",        NULL };

static const char *const *const vocabularies[] = {
	[DMARC_VOCAB_POLICY] = policy_words, [DMARC_VOCAB_ALIGN] = align_words,
	[DMARC_VOCAB_SPF] = spf_words,       [DMARC_VOCAB_SCOPE] = scope_words,
	[DMARC_VOCAB_DKIM] = dkim_words,     [DMARC_VOCAB_REASON] = reason_words,
};

const char *
dmarc_vocab_name(enum dmarc_vocab vocab, int value)
{
	const char *const *words = vocabularies[vocab];

	for (int i = 0; words[i] != NULL; i++)
		if (i == value)
			return words[i];
	return NULL;
}

int
dmarc_vocab_value(enum dmarc_vocab vocab, const char *word)
{
	const char *const *words = vocabularies[vocab];

	for (int i = 0; word != NULL && words[i] != NULL; i++)
		if (strcmp(words[i], word) == 0)
			return i;
	return -1;
}

static const struct {
	unsigned bit;
	char letter;
} fo_options[] = {
	{ DMARC_FO_0, '0' }, { DMARC_FO_1, '1' }, { DMARC_FO_D, 'd' }, { DMARC_FO_S, 's' }
};

void
dmarc_fo_format(unsigned fo, char *out, size_t outlen)
{
	size_t n = 0;

	if ((fo & (DMARC_FO_0 | DMARC_FO_1 | DMARC_FO_D | DMARC_FO_S)) == 0)
		fo = DMARC_FO_0;
	for (size_t i = 0; i < sizeof(fo_options) / sizeof(fo_options[0]); i++) {
		if ((fo & fo_options[i].bit) == 0 || n + 3 > outlen)
			continue;
		if (n > 0)
			out[n++] = ':';
		out[n++] = fo_options[i].letter;
	}
	out[n] = '\0';
}

unsigned
dmarc_fo_parse(const char *text)
{
	unsigned fo = 0;

	for (const char *p = text; *p; p++)
		for (size_t i = 0; i < sizeof(fo_options) / sizeof(fo_options[0]); i++)
			if (*p == fo_options[i].letter)
				fo |= fo_options[i].bit;
	return fo ? fo : DMARC_FO_0;
}

/* ---------------------------------------------------------- normalization */

static const char *
nonnull(const char *s)
{
	return s ? s : "";
}

/* Lower case, no trailing dot; -1 when too long. */
static int
domain_normalize(const char *in, struct buf *out)
{
	size_t len = strlen(nonnull(in));

	while (len > 0 && in[len - 1] == '.')
		len--;
	buf_reset(out);
	buf_append(out, "", 0);
	for (size_t i = 0; i < len; i++) {
		char c = in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] - 'A' + 'a') : in[i];
		buf_append(out, &c, 1);
	}
	return len <= DMARC_HISTORY_MAX_DOMAIN ? 0 : -1;
}

/* The canonical text of an address (IPv4-mapped IPv6 as IPv4); -1 if none. */
static int
ip_normalize(const char *in, char out[INET6_ADDRSTRLEN])
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, nonnull(in), addr) == 1)
		return inet_ntop(AF_INET, addr, out, INET6_ADDRSTRLEN) ? 0 : -1;
	if (inet_pton(AF_INET6, nonnull(in), addr) != 1)
		return -1;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (memcmp(addr, mapped, sizeof(mapped)) == 0)
		return inet_ntop(AF_INET, addr + 12, out, INET6_ADDRSTRLEN) ? 0 : -1;
	return inet_ntop(AF_INET6, addr, out, INET6_ADDRSTRLEN) ? 0 : -1;
}

/* Everything a row stores that is not the caller's text as given. */
struct normal {
	char source_ip[INET6_ADDRSTRLEN];
	struct buf header_from, envelope_from, envelope_to, policy_domain, spf_domain;
	struct buf *dkim_domain, *dkim_selector;
	char fo[16];
	char digest[33];
};

static void
normal_free(struct normal *n, size_t dkim_count)
{
	buf_free(&n->header_from);
	buf_free(&n->envelope_from);
	buf_free(&n->envelope_to);
	buf_free(&n->policy_domain);
	buf_free(&n->spf_domain);
	for (size_t i = 0; n->dkim_domain && i < dkim_count; i++) {
		buf_free(&n->dkim_domain[i]);
		buf_free(&n->dkim_selector[i]);
	}
	free(n->dkim_domain);
	free(n->dkim_selector);
}

static bool
in_vocab(enum dmarc_vocab vocab, int value)
{
	return dmarc_vocab_name(vocab, value) != NULL;
}

static bool
text_ok(const char *s)
{
	return strlen(nonnull(s)) <= DMARC_HISTORY_MAX_TEXT;
}

/* Words and numbers in range; why not in err. */
static int
row_check_values(const struct dmarc_row *row, struct buf *err)
{
	const struct dmarc_row_published *pub = &row->published;
	bool ok = in_vocab(DMARC_VOCAB_ALIGN, (int)pub->adkim) &&
	          in_vocab(DMARC_VOCAB_ALIGN, (int)pub->aspf) &&
	          in_vocab(DMARC_VOCAB_POLICY, (int)pub->p) &&
	          in_vocab(DMARC_VOCAB_POLICY, (int)pub->sp) &&
	          in_vocab(DMARC_VOCAB_POLICY, (int)pub->np) && pub->pct <= 100 &&
	          in_vocab(DMARC_VOCAB_POLICY, (int)row->disposition) &&
	          in_vocab(DMARC_VOCAB_REASON, (int)row->reason) &&
	          in_vocab(DMARC_VOCAB_SCOPE, (int)row->spf_scope) &&
	          in_vocab(DMARC_VOCAB_SPF, (int)row->spf_result);

	for (size_t i = 0; ok && i < row->dkim_count; i++)
		ok = in_vocab(DMARC_VOCAB_DKIM, (int)row->dkim[i].result) &&
		     text_ok(row->dkim[i].human_result);
	if (!ok) {
		buf_printf(err, "dmarc history: a value out of range (header_from %s)",
		           nonnull(row->header_from));
		return -1;
	}
	if (!text_ok(pub->rua) || !text_ok(row->reason_comment)) {
		buf_printf(err, "dmarc history: rua or comment longer than %d bytes",
		           DMARC_HISTORY_MAX_TEXT);
		return -1;
	}
	if (row->dkim_count > DMARC_HISTORY_MAX_DKIM) {
		buf_printf(err, "dmarc history: %zu DKIM results (at most %d)", row->dkim_count,
		           DMARC_HISTORY_MAX_DKIM);
		return -1;
	}
	return 0;
}

static int
row_normalize_domains(const struct dmarc_row *row, struct normal *n, struct buf *err)
{
	int bad = domain_normalize(row->header_from, &n->header_from) |
	          domain_normalize(row->envelope_from, &n->envelope_from) |
	          domain_normalize(row->envelope_to, &n->envelope_to) |
	          domain_normalize(row->policy_domain, &n->policy_domain) |
	          domain_normalize(row->spf_domain, &n->spf_domain);

	n->dkim_domain = xcalloc(row->dkim_count + 1, sizeof(struct buf));
	n->dkim_selector = xcalloc(row->dkim_count + 1, sizeof(struct buf));
	for (size_t i = 0; i < row->dkim_count; i++)
		bad |= domain_normalize(row->dkim[i].domain, &n->dkim_domain[i]) |
		       domain_normalize(row->dkim[i].selector, &n->dkim_selector[i]);
	if (bad) {
		buf_printf(err, "dmarc history: a domain name longer than %d bytes",
		           DMARC_HISTORY_MAX_DOMAIN);
		return -1;
	}
	if (n->header_from.len == 0 || n->policy_domain.len == 0) {
		buf_printf(err, "dmarc history: header_from and policy_domain are required");
		return -1;
	}
	return 0;
}

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* SHA-256 (first 16 bytes, hex) over the DKIM results in sorted order. */
static void
row_dkim_digest(const struct dmarc_row *row, struct normal *n)
{
	char **entries = xcalloc(row->dkim_count + 1, sizeof(char *));
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	struct buf all = BUF_INIT;

	for (size_t i = 0; i < row->dkim_count; i++) {
		const char *human = nonnull(row->dkim[i].human_result);
		/* Length prefixes: no choice of field values can collide. */
		entries[i] = xasprintf("%zu:%s%zu:%s%d%zu:%s;", n->dkim_domain[i].len,
		                       buf_str(&n->dkim_domain[i]), n->dkim_selector[i].len,
		                       buf_str(&n->dkim_selector[i]), (int)row->dkim[i].result,
		                       strlen(human), human);
	}
	qsort(entries, row->dkim_count, sizeof(char *), compare_strings);
	buf_append(&all, "", 0);
	for (size_t i = 0; i < row->dkim_count; i++) {
		buf_puts(&all, entries[i]);
		free(entries[i]);
	}
	free(entries);
	if (!EVP_Digest(all.data, all.len, md, &mdlen, EVP_sha256(), NULL))
		memset(md, 0, sizeof(md));
	for (int i = 0; i < 16; i++)
		snprintf(n->digest + 2 * i, 3, "%02x", md[i]);
	buf_free(&all);
}

static int
row_normalize(const struct dmarc_row *row, struct normal *n, struct buf *err)
{
	if (ip_normalize(row->source_ip, n->source_ip) < 0) {
		buf_printf(err, "dmarc history: source_ip \"%s\" is not an IP address",
		           nonnull(row->source_ip));
		return -1;
	}
	if (row_check_values(row, err) < 0 || row_normalize_domains(row, n, err) < 0)
		return -1;
	dmarc_fo_format(row->published.fo, n->fo, sizeof(n->fo));
	row_dkim_digest(row, n);
	return 0;
}

/* ----------------------------------------------------------------- insert */

static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";

#define ROW_COLUMNS                                                                                \
	"time, source_ip, header_from, envelope_from, envelope_to, policy_domain, adkim, aspf, "   \
	"p, sp, np, pct, fo, testing, rua, disposition, dkim_aligned, spf_aligned, reason, "       \
	"reason_comment, spf_domain, spf_scope, spf_result"

static const char sql_insert_row[] =
    "INSERT INTO dmarc_history(" ROW_COLUMNS ", dkim_digest) VALUES "
    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
    "?21, ?22, ?23, ?24)";
static const char sql_insert_dkim[] =
    "INSERT INTO dmarc_history_dkim(row_id, seq, domain, selector, result, human_result) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

static void
bind_text(sqlite3_stmt *stmt, int col, const char *text)
{
	sqlite3_bind_text(stmt, col, nonnull(text), -1, SQLITE_STATIC);
}

static void
bind_word(sqlite3_stmt *stmt, int col, enum dmarc_vocab vocab, int value)
{
	bind_text(stmt, col, dmarc_vocab_name(vocab, value));
}

static void
bind_row(sqlite3_stmt *stmt, const struct dmarc_row *row, const struct normal *n)
{
	const struct dmarc_row_published *pub = &row->published;

	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)row->time);
	bind_text(stmt, 2, n->source_ip);
	bind_text(stmt, 3, buf_str(&n->header_from));
	bind_text(stmt, 4, buf_str(&n->envelope_from));
	bind_text(stmt, 5, buf_str(&n->envelope_to));
	bind_text(stmt, 6, buf_str(&n->policy_domain));
	bind_word(stmt, 7, DMARC_VOCAB_ALIGN, (int)pub->adkim);
	bind_word(stmt, 8, DMARC_VOCAB_ALIGN, (int)pub->aspf);
	bind_word(stmt, 9, DMARC_VOCAB_POLICY, (int)pub->p);
	bind_word(stmt, 10, DMARC_VOCAB_POLICY, (int)pub->sp);
	bind_word(stmt, 11, DMARC_VOCAB_POLICY, (int)pub->np);
	sqlite3_bind_int(stmt, 12, (int)pub->pct);
	bind_text(stmt, 13, n->fo);
	sqlite3_bind_int(stmt, 14, pub->testing);
	bind_text(stmt, 15, pub->rua);
	bind_word(stmt, 16, DMARC_VOCAB_POLICY, (int)row->disposition);
	sqlite3_bind_int(stmt, 17, row->dkim_aligned);
	sqlite3_bind_int(stmt, 18, row->spf_aligned);
	bind_word(stmt, 19, DMARC_VOCAB_REASON, (int)row->reason);
	bind_text(stmt, 20, row->reason_comment);
	bind_text(stmt, 21, buf_str(&n->spf_domain));
	bind_word(stmt, 22, DMARC_VOCAB_SCOPE, (int)row->spf_scope);
	bind_word(stmt, 23, DMARC_VOCAB_SPF, (int)row->spf_result);
	bind_text(stmt, 24, n->digest);
}

/* Step a cached statement once and reset it; 0 or -1 with err. */
static int
step_once(struct store *store, sqlite3_stmt *stmt, struct buf *err)
{
	int rc = sqlite3_step(stmt);

	if (rc != SQLITE_DONE)
		buf_printf(err, "%s: %s", store_path(store), sqlite3_errmsg(store_db(store)));
	sqlite3_clear_bindings(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
insert_dkim(struct store *store, sqlite3_int64 row_id, const struct dmarc_row *row,
            const struct normal *n, struct buf *err)
{
	sqlite3_stmt *stmt = store_statement(store, sql_insert_dkim, err);

	for (size_t i = 0; stmt != NULL && i < row->dkim_count; i++) {
		sqlite3_bind_int64(stmt, 1, row_id);
		sqlite3_bind_int(stmt, 2, (int)i);
		bind_text(stmt, 3, buf_str(&n->dkim_domain[i]));
		bind_text(stmt, 4, buf_str(&n->dkim_selector[i]));
		bind_word(stmt, 5, DMARC_VOCAB_DKIM, (int)row->dkim[i].result);
		bind_text(stmt, 6, row->dkim[i].human_result);
		if (step_once(store, stmt, err) < 0)
			return -1;
	}
	return stmt != NULL ? 0 : -1;
}

/* One row and its DKIM results, inside the caller's transaction. */
static int
insert_one(struct store *store, const struct dmarc_row *row, const struct normal *n,
           struct buf *err)
{
	sqlite3_stmt *stmt = store_statement(store, sql_insert_row, err);

	if (stmt == NULL)
		return -1;
	bind_row(stmt, row, n);
	if (step_once(store, stmt, err) < 0)
		return -1;
	return insert_dkim(store, sqlite3_last_insert_rowid(store_db(store)), row, n, err);
}

int
dmarc_history_add(struct store *store, const struct dmarc_row *row, struct buf *err)
{
	size_t added = 0;

	return dmarc_history_add_many(store, row, 1, &added, err) == 0 && added == 1 ? 0 : -1;
}

int
dmarc_history_add_many(struct store *store, const struct dmarc_row *rows, size_t count,
                       size_t *added, struct buf *err)
{
	struct normal *n = xcalloc(count + 1, sizeof(*n));
	bool *ok = xcalloc(count + 1, sizeof(*ok));
	int rc = 0;

	*added = 0;
	for (size_t i = 0; i < count; i++) {
		n[i].source_ip[0] = '\0';
		ok[i] = row_normalize(&rows[i], &n[i], err) == 0;
	}
	store_lock(store);
	if (store_run(store, sql_begin, err) < 0) {
		rc = -1;
	} else {
		for (size_t i = 0; i < count && rc == 0; i++)
			if (ok[i] && insert_one(store, &rows[i], &n[i], err) < 0)
				rc = -1;
		if (rc == 0 && store_run(store, sql_commit, err) < 0)
			rc = -1;
		if (rc < 0)
			store_run(store, sql_rollback, NULL);
	}
	store_unlock(store);
	for (size_t i = 0; i < count; i++) {
		if (rc == 0 && ok[i])
			(*added)++;
		normal_free(&n[i], rows[i].dkim_count);
	}
	free(n);
	free(ok);
	return rc;
}

/* ---------------------------------------------------------------- reading */

/*
 * Columns: 0 id, 1 count, 2.. ROW_COLUMNS in their order.  In the grouping
 * query the plain columns come from the row that has max(id): SQLite's
 * rule for bare columns beside a single max() aggregate.
 */
static const char sql_rows[] = "SELECT id, 1, " ROW_COLUMNS " FROM dmarc_history "
                               "WHERE (?1 IS NULL OR policy_domain = ?1) "
                               "AND time BETWEEN ?2 AND ?3 ORDER BY time, id";
static const char sql_groups[] =
    "SELECT max(id) AS latest, count(*) AS n, " ROW_COLUMNS " FROM dmarc_history "
    "WHERE policy_domain = ?1 AND time BETWEEN ?2 AND ?3 "
    "GROUP BY source_ip, header_from, envelope_from, envelope_to, disposition, dkim_aligned, "
    "spf_aligned, reason, reason_comment, spf_domain, spf_scope, spf_result, dkim_digest "
    "ORDER BY n DESC, latest";
static const char sql_row_dkim[] = "SELECT domain, selector, result, human_result "
                                   "FROM dmarc_history_dkim WHERE row_id = ?1 ORDER BY seq";
static const char sql_domains[] = "SELECT DISTINCT policy_domain FROM dmarc_history "
                                  "WHERE time BETWEEN ?1 AND ?2 ORDER BY 1";

static const char *
column_text(sqlite3_stmt *stmt, int col)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);

	return text ? (const char *)text : "";
}

/* A stored word back to its value; -1 (and a note in err) when unknown. */
static int
column_word(sqlite3_stmt *stmt, int col, enum dmarc_vocab vocab, int *bad, struct buf *err)
{
	int value = dmarc_vocab_value(vocab, column_text(stmt, col));

	if (value < 0 && !*bad) {
		buf_printf(err, "dmarc history: row %lld: unknown %s \"%s\"",
		           (long long)sqlite3_column_int64(stmt, 0), sqlite3_column_name(stmt, col),
		           column_text(stmt, col));
		*bad = 1;
	}
	return value < 0 ? 0 : value;
}

/* Fill row from the current result (strings valid until the next step). */
static int
row_from_columns(sqlite3_stmt *stmt, struct dmarc_row *row, struct buf *err)
{
	struct dmarc_row_published *pub = &row->published;
	int bad = 0;

	row->time = (time_t)sqlite3_column_int64(stmt, 2);
	row->source_ip = column_text(stmt, 3);
	row->header_from = column_text(stmt, 4);
	row->envelope_from = column_text(stmt, 5);
	row->envelope_to = column_text(stmt, 6);
	row->policy_domain = column_text(stmt, 7);
	pub->adkim = (enum dmarc_align)column_word(stmt, 8, DMARC_VOCAB_ALIGN, &bad, err);
	pub->aspf = (enum dmarc_align)column_word(stmt, 9, DMARC_VOCAB_ALIGN, &bad, err);
	pub->p = (enum dmarc_policy)column_word(stmt, 10, DMARC_VOCAB_POLICY, &bad, err);
	pub->sp = (enum dmarc_policy)column_word(stmt, 11, DMARC_VOCAB_POLICY, &bad, err);
	pub->np = (enum dmarc_policy)column_word(stmt, 12, DMARC_VOCAB_POLICY, &bad, err);
	pub->pct = (unsigned)sqlite3_column_int(stmt, 13);
	pub->fo = dmarc_fo_parse(column_text(stmt, 14));
	pub->testing = sqlite3_column_int(stmt, 15) != 0;
	pub->rua = column_text(stmt, 16);
	row->disposition = (enum dmarc_policy)column_word(stmt, 17, DMARC_VOCAB_POLICY, &bad, err);
	row->dkim_aligned = sqlite3_column_int(stmt, 18) != 0;
	row->spf_aligned = sqlite3_column_int(stmt, 19) != 0;
	row->reason = (enum dmarc_reason)column_word(stmt, 20, DMARC_VOCAB_REASON, &bad, err);
	row->reason_comment = column_text(stmt, 21);
	row->spf_domain = column_text(stmt, 22);
	row->spf_scope = (enum dmarc_spf_scope)column_word(stmt, 23, DMARC_VOCAB_SCOPE, &bad, err);
	row->spf_result = (enum dmarc_spf)column_word(stmt, 24, DMARC_VOCAB_SPF, &bad, err);
	return bad ? -1 : 0;
}

struct dkim_list {
	struct dmarc_row_dkim *items;
	size_t count;
};

static void
dkim_list_free(struct dkim_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free((char *)list->items[i].domain);
		free((char *)list->items[i].selector);
		free((char *)list->items[i].human_result);
	}
	free(list->items);
	*list = (struct dkim_list){ 0 };
}

/* The DKIM results of one row, copied (the statement is reused per row). */
static int
dkim_list_load(struct store *store, sqlite3_int64 row_id, struct dkim_list *list, struct buf *err)
{
	sqlite3_stmt *stmt = store_statement(store, sql_row_dkim, err);
	int rc, bad = 0;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, row_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		list->items = xgrow(list->items, list->count, sizeof(*list->items));
		list->items[list->count++] = (struct dmarc_row_dkim){
			.domain = xstrdup(column_text(stmt, 0)),
			.selector = xstrdup(column_text(stmt, 1)),
			.result = (enum dmarc_dkim)dmarc_vocab_value(DMARC_VOCAB_DKIM,
			                                             column_text(stmt, 2)),
			.human_result = xstrdup(column_text(stmt, 3)),
		};
		bad |= (int)list->items[list->count - 1].result < 0;
	}
	if (rc != SQLITE_DONE || bad)
		buf_printf(err, "%s: DKIM results of row %lld: %s", store_path(store),
		           (long long)row_id,
		           bad ? "unknown result" : sqlite3_errmsg(store_db(store)));
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE && !bad ? 0 : -1;
}

/* One result row: fill, load its DKIM results, call fn. */
static int
deliver(struct store *store, sqlite3_stmt *stmt, dmarc_history_fn fn, void *arg, struct buf *err)
{
	struct dmarc_row row = { 0 };
	struct dkim_list dkim = { 0 };
	int rc = -1;

	if (row_from_columns(stmt, &row, err) == 0 &&
	    dkim_list_load(store, sqlite3_column_int64(stmt, 0), &dkim, err) == 0) {
		row.dkim = dkim.items;
		row.dkim_count = dkim.count;
		rc = fn(&row, (unsigned long)sqlite3_column_int64(stmt, 1), arg);
		if (rc != 0)
			buf_printf(err, "dmarc history: stopped by the caller");
	}
	dkim_list_free(&dkim);
	return rc;
}

static int
select_each(struct store *store, const char *sql, const char *domain, time_t begin, time_t end,
            dmarc_history_fn fn, void *arg, struct buf *err)
{
	sqlite3_stmt *stmt;
	int rc = -1, step;

	store_lock(store);
	stmt = store_statement(store, sql, err);
	if (stmt != NULL) {
		if (domain != NULL)
			bind_text(stmt, 1, domain);
		sqlite3_bind_int64(stmt, 2, (sqlite3_int64)begin);
		sqlite3_bind_int64(stmt, 3, (sqlite3_int64)end);
		while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
			if (deliver(store, stmt, fn, arg, err) != 0)
				break;
		rc = step == SQLITE_DONE ? 0 : -1;
		if (step != SQLITE_DONE && step != SQLITE_ROW)
			buf_printf(err, "%s: %s", store_path(store),
			           sqlite3_errmsg(store_db(store)));
		sqlite3_clear_bindings(stmt);
		sqlite3_reset(stmt);
	}
	store_unlock(store);
	return rc;
}

int
dmarc_history_rows(struct store *store, const char *policy_domain, time_t begin, time_t end,
                   dmarc_history_fn fn, void *arg, struct buf *err)
{
	return select_each(store, sql_rows, policy_domain, begin, end, fn, arg, err);
}

int
dmarc_history_groups(struct store *store, const char *policy_domain, time_t begin, time_t end,
                     dmarc_history_fn fn, void *arg, struct buf *err)
{
	return select_each(store, sql_groups, policy_domain, begin, end, fn, arg, err);
}

int
dmarc_history_domains(struct store *store, time_t begin, time_t end, char ***domains, size_t *count,
                      struct buf *err)
{
	sqlite3_stmt *stmt;
	int step = SQLITE_ERROR;

	*domains = NULL;
	*count = 0;
	store_lock(store);
	stmt = store_statement(store, sql_domains, err);
	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, (sqlite3_int64)begin);
		sqlite3_bind_int64(stmt, 2, (sqlite3_int64)end);
		while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
			*domains = xgrow(*domains, *count, sizeof(char *));
			(*domains)[(*count)++] = xstrdup(column_text(stmt, 0));
		}
		if (step != SQLITE_DONE)
			buf_printf(err, "%s: %s", store_path(store),
			           sqlite3_errmsg(store_db(store)));
		sqlite3_reset(stmt);
	}
	store_unlock(store);
	if (step == SQLITE_DONE)
		return 0;
	dmarc_history_domains_free(*domains, *count);
	*domains = NULL;
	*count = 0;
	return -1;
}

void
dmarc_history_domains_free(char **domains, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(domains[i]);
	free(domains);
}

/* ------------------------------------------------------------------ purge */

#define PURGE_BATCH "2000"

static const char sql_purge_dkim[] =
    "DELETE FROM dmarc_history_dkim WHERE row_id IN (SELECT id FROM dmarc_history "
    "WHERE time < ?1 ORDER BY time, id LIMIT " PURGE_BATCH ")";
static const char sql_purge_rows[] =
    "DELETE FROM dmarc_history WHERE id IN (SELECT id FROM dmarc_history "
    "WHERE time < ?1 ORDER BY time, id LIMIT " PURGE_BATCH ")";

/* One batch in one transaction: how many rows went, or -1. */
static long
purge_batch(struct store *store, time_t before, struct buf *err)
{
	sqlite3_stmt *dkim, *rows;
	long gone = -1;

	if (store_run(store, sql_begin, err) < 0)
		return -1;
	dkim = store_statement(store, sql_purge_dkim, err);
	rows = store_statement(store, sql_purge_rows, err);
	if (dkim != NULL && rows != NULL) {
		sqlite3_bind_int64(dkim, 1, (sqlite3_int64)before);
		sqlite3_bind_int64(rows, 1, (sqlite3_int64)before);
		if (step_once(store, dkim, err) == 0 && step_once(store, rows, err) == 0)
			gone = sqlite3_changes(store_db(store));
	}
	if (gone < 0 || store_run(store, sql_commit, err) < 0) {
		store_run(store, sql_rollback, NULL);
		return -1;
	}
	return gone;
}

long
dmarc_history_purge(struct store *store, time_t before, struct buf *err)
{
	long total = 0, gone;

	do {
		store_lock(store);
		gone = purge_batch(store, before, err);
		store_unlock(store);
		total += gone > 0 ? gone : 0;
	} while (gone > 0);
	return gone < 0 ? -1 : total;
}
