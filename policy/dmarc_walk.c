/*
 * dmarc_walk - policy discovery and Organizational Domains by DNS Tree Walk
 *
 * RFC 9989 4.10: ask _dmarc.<domain>, then each parent up to the TLD; a
 * name of eight labels or more jumps straight to its last seven, so no walk
 * asks more than eight names.  A record with psd=n or psd=y stops the walk.
 * The Organizational Domain is then the psd=n domain, the domain one label
 * below a psd=y one (unless psd=y is where the walk started), or else the
 * shortest name that had a record; without any record, the start domain.
 *
 * Discovery (4.10.1) takes the Author Domain's own record if it has one
 * (one query); otherwise it walks, and takes the Organizational Domain's
 * record, or failing that the Public Suffix Domain's.  Records found between
 * the Author Domain and its Organizational Domain are not used (4.7 sp=).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "policy/dmarc_walk.h"

/* RFC 9989 4.10 step 4: names this long are shortened to their last seven labels. */
#define WALK_SHORTCUT 7

void
dmarc_walker_init(struct dmarc_walker *w, struct dns_resolver *resolver, struct dns_budget *budget)
{
	memset(w, 0, sizeof(*w));
	w->resolver = resolver;
	w->budget = budget;
	buf_init(&w->why);
}

void
dmarc_walker_free(struct dmarc_walker *w)
{
	for (size_t i = 0; i < w->count; i++) {
		dmarc_record_free(&w->levels[i]->record);
		free(w->levels[i]->domain);
		free(w->levels[i]);
	}
	free(w->levels);
	buf_free(&w->why);
	memset(w, 0, sizeof(*w));
}

static bool
label_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

char *
dmarc_domain_normalize(const char *domain)
{
	size_t len = domain != NULL ? strlen(domain) : 0, label = 0;
	char *out;

	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return NULL;
	out = xstrndup(domain, len);
	for (size_t i = 0; i <= len; i++) {
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
		if (out[i] == '.' || out[i] == '\0') {
			if (label == 0 || label > 63)
				break;
			label = 0;
		} else if (!label_char_ok(out[i])) {
			break;
		} else {
			label++;
		}
		if (i == len)
			return out;
	}
	free(out);
	return NULL;
}

bool
dmarc_domain_within(const char *domain, const char *parent)
{
	size_t dl = strlen(domain), pl = strlen(parent);

	if (dl == pl)
		return strcmp(domain, parent) == 0;
	return dl > pl && domain[dl - pl - 1] == '.' && strcmp(domain + dl - pl, parent) == 0;
}

static size_t
label_count(const char *domain)
{
	size_t n = 1;

	for (const char *p = domain; *p != '\0'; p++)
		n += *p == '.';
	return n;
}

/* The last keep labels of a domain of n labels. */
static const char *
label_suffix(const char *domain, size_t n, size_t keep)
{
	for (; n > keep; n--)
		domain = strchr(domain, '.') + 1;
	return domain;
}

static struct dmarc_level *
level_find(const struct dmarc_walker *w, const char *domain)
{
	for (size_t i = 0; i < w->count; i++)
		if (strcmp(w->levels[i]->domain, domain) == 0)
			return w->levels[i];
	return NULL;
}

/* 4.10 step 2: keep the DMARC records among the TXT answers; two or more cancel out. */
static void
level_read(struct dmarc_level *lv, const struct dns_answer *ans)
{
	unsigned dmarc = 0;

	for (size_t i = 0; i < ans->count; i++) {
		struct dmarc_record rec;
		enum dmarc_parse parse =
		    dmarc_record_parse(ans->rr[i].data, ans->rr[i].len, &rec, NULL);
		if (parse == DMARC_PARSE_NOT_DMARC)
			continue;
		if (dmarc++ == 0) {
			lv->record = rec;
			lv->parse = parse;
		} else {
			dmarc_record_free(&rec);
		}
	}
	lv->has_record = dmarc == 1;
	if (dmarc > 1)
		dmarc_record_free(&lv->record);
}

const struct dmarc_level *
dmarc_level_get(struct dmarc_walker *w, const char *domain)
{
	struct dmarc_level *lv = level_find(w, domain);
	struct dns_answer ans;
	char *name;

	if (lv != NULL)
		return lv;
	lv = xcalloc(1, sizeof(*lv));
	lv->domain = xstrdup(domain);
	name = xasprintf("_dmarc.%s", domain);
	switch (dns_lookup(w->resolver, w->budget, name, DNS_T_TXT, &ans)) {
	case DNS_TEMPFAIL:
		lv->tempfail = true;
		if (w->why.len == 0)
			buf_printf(&w->why, "%s TXT: %s", name,
			           ans.reason ? ans.reason : "tempfail");
		break;
	case DNS_FOUND:
		level_read(lv, &ans);
		break;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		break;
	}
	dns_answer_free(&ans);
	free(name);
	w->levels = xgrow(w->levels, w->count, sizeof(*w->levels));
	w->levels[w->count++] = lv;
	return lv;
}

/* 4.10.2: pick the Organizational Domain once the walk has stopped. */
static void
walk_choose(struct dmarc_walker *w, const char *start, size_t n, const struct dmarc_level *last,
            size_t last_k, struct dmarc_walk *out)
{
	const struct dmarc_level *below;

	if (last == NULL) {
		out->org = start;
		return;
	}
	if (last->record.psd == DMARC_PSD_YES && last_k < n) {
		out->psd_level = last;
		out->org = label_suffix(start, n, last_k + 1);
		below = level_find(w, out->org);
		out->org_level = below != NULL && below->has_record ? below : NULL;
		return;
	}
	out->org = label_suffix(start, n, last_k); /* psd=n, or the fewest labels */
	out->org_level = last;
}

int
dmarc_walk_from(struct dmarc_walker *w, const char *start, struct dmarc_walk *out)
{
	size_t n = label_count(start), last_k = 0;
	const struct dmarc_level *last = NULL;

	memset(out, 0, sizeof(*out));
	for (size_t k = n; k >= 1; k = k - 1 < WALK_SHORTCUT ? k - 1 : WALK_SHORTCUT) {
		const struct dmarc_level *lv = dmarc_level_get(w, label_suffix(start, n, k));
		if (lv->tempfail)
			return -1;
		if (!lv->has_record)
			continue;
		last = lv;
		last_k = k;
		if (lv->record.psd != DMARC_PSD_UNSPEC)
			break;
	}
	walk_choose(w, start, n, last, last_k, out);
	return 0;
}

static enum dmarc_found
discovered(struct dmarc_discovery *out, const struct dmarc_level *lv, enum dmarc_source source)
{
	out->status = DMARC_FOUND_RECORD;
	dmarc_record_copy(&out->record, &lv->record);
	out->usable = lv->parse == DMARC_PARSE_OK;
	out->policy_domain = xstrdup(lv->domain);
	out->source = source;
	if (!out->usable)
		buf_printf(&out->reason,
		           "the record at _dmarc.%s has no valid p= and no rua=", lv->domain);
	return out->status;
}

static enum dmarc_found
discovery_failed(struct dmarc_discovery *out, const struct dmarc_walker *w)
{
	out->status = DMARC_FOUND_TEMPERROR;
	buf_puts(&out->reason, buf_str(&w->why));
	return out->status;
}

enum dmarc_found
dmarc_walker_discover(struct dmarc_walker *w, const char *author, struct dmarc_discovery *out)
{
	const struct dmarc_level *own = dmarc_level_get(w, author);
	struct dmarc_walk walk;

	if (own->tempfail)
		return discovery_failed(out, w);
	if (own->has_record) {
		if (own->record.psd != DMARC_PSD_UNSPEC)
			out->org_domain = xstrdup(author);
		return discovered(out, own, DMARC_AT_AUTHOR);
	}
	if (dmarc_walk_from(w, author, &walk) < 0)
		return discovery_failed(out, w);
	out->org_domain = xstrdup(walk.org);
	if (walk.org_level != NULL)
		return discovered(out, walk.org_level, DMARC_AT_ORG);
	if (walk.psd_level != NULL)
		return discovered(out, walk.psd_level, DMARC_AT_PSD);
	out->status = DMARC_FOUND_NONE;
	buf_printf(&out->reason, "no DMARC record for %s or its parents", author);
	return out->status;
}

enum dmarc_found
dmarc_discover(struct dns_resolver *resolver, struct dns_budget *budget, const char *author_domain,
               struct dmarc_discovery *out)
{
	struct dmarc_walker w;
	char *author = dmarc_domain_normalize(author_domain);

	memset(out, 0, sizeof(*out));
	buf_init(&out->reason);
	if (author == NULL) {
		out->status = DMARC_FOUND_NONE;
		buf_puts(&out->reason, "the Author Domain is not a domain name");
		return out->status;
	}
	dmarc_walker_init(&w, resolver, budget);
	dmarc_walker_discover(&w, author, out);
	dmarc_walker_free(&w);
	free(author);
	return out->status;
}

void
dmarc_discovery_free(struct dmarc_discovery *disc)
{
	dmarc_record_free(&disc->record);
	free(disc->policy_domain);
	free(disc->org_domain);
	buf_free(&disc->reason);
	memset(disc, 0, sizeof(*disc));
}

int
dmarc_org_domain(struct dns_resolver *resolver, struct dns_budget *budget, const char *domain,
                 char **org, struct buf *err)
{
	struct dmarc_walker w;
	struct dmarc_walk walk;
	char *start = dmarc_domain_normalize(domain);
	int rc = -1;

	*org = NULL;
	if (start == NULL) {
		if (err != NULL)
			buf_puts(err, "not a domain name");
		return -1;
	}
	dmarc_walker_init(&w, resolver, budget);
	if (dmarc_walk_from(&w, start, &walk) == 0) {
		*org = xstrdup(walk.org);
		rc = 0;
	} else if (err != NULL) {
		buf_puts(err, buf_str(&w.why));
	}
	dmarc_walker_free(&w);
	free(start);
	return rc;
}

int
dmarc_domain_exists(struct dmarc_walker *w, const char *domain, bool *exists)
{
	static const enum dns_type types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX };
	struct dns_answer ans;

	*exists = false;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]) && !*exists; i++) {
		enum dns_status st = dns_lookup(w->resolver, w->budget, domain, types[i], &ans);
		if (st == DNS_TEMPFAIL && w->why.len == 0)
			buf_printf(&w->why, "%s %s: %s", domain,
			           i == 0   ? "A"
			           : i == 1 ? "AAAA"
			                    : "MX",
			           ans.reason ? ans.reason : "tempfail");
		dns_answer_free(&ans);
		if (st == DNS_TEMPFAIL)
			return -1;
		*exists = st != DNS_NXDOMAIN;
	}
	return 0;
}
