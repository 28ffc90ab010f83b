/*
 * dkim_verify - streaming DKIM verification; see dkim_verify.h.
 *
 * Per signature, in RFC 6376 section 6.1 order: the field's tags (at
 * header time), x= against the clock, the key (one lookup per selector
 * and domain per message), what the key allows, the body hash (shared per
 * canonicalization and l=), the header hash and the signature.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "common/dkim_canon.h"
#include "common/dkim_sigparse.h"
#include "common/dkim_verify.h"
#include "common/header.h"
#include "common/log.h"
#include "common/xalloc.h"

/* A DKIM-Signature field being evaluated; its result has the same index. */
struct pending {
	struct dkim_sig sig;
	size_t header; /* the field's index in headers */
	bool open;     /* parsed well; the verdict waits for the end */
	size_t body;   /* its body hash in bodies */
};

/* One body hash, shared by every signature with the same c= body part and l=. */
struct body_hash {
	enum dkim_canon canon;
	bool has_l;
	uint64_t l;
	struct dkim_body state;
	unsigned char digest[32];
};

/* A key lookup made for this message; signatures naming the same key share it. */
struct key_entry {
	const char *selector; /* the first asking signature's */
	const char *domain;
	enum dkim_verdict verdict; /* DKIM_PASS: key is usable */
	char *reason;
	struct dkim_pubkey key;
};

/* Header fields of one lower-case name, sorted by position. */
struct name_group {
	const char *name;
	size_t start; /* into the sorted entries */
	size_t count;
	size_t used; /* taken from the bottom by the signature at hand */
};

struct name_entry {
	const char *name;
	size_t header;
};

struct header_index {
	char *names; /* every field name, lower case, NUL-separated */
	struct name_entry *entries;
	struct name_group *groups;
	size_t group_count;
};

struct dkim_verify {
	struct dkim_verify_options opt;
	struct header *headers;
	size_t header_count;
	struct pending *pending;
	struct dkim_result *results;
	size_t count;
	size_t skipped;
	struct body_hash *bodies;
	size_t body_count;
	bool body_started;
	bool finished;
	struct key_entry *keys;
	size_t key_count;
};

void
dkim_verify_options_default(struct dkim_verify_options *options)
{
	options->max_signatures = DKIM_VERIFY_MAX_SIGNATURES;
	options->min_rsa_bits = DKIM_VERIFY_MIN_RSA_BITS;
	options->length_policy = DKIM_LENGTH_ACCEPT;
}

const char *
dkim_verdict_name(enum dkim_verdict verdict)
{
	static const char *const names[] = { "pass",   "fail",      "neutral",
		                             "policy", "temperror", "permerror" };

	return (size_t)verdict < sizeof(names) / sizeof(names[0]) ? names[verdict] : "?";
}

struct dkim_verify *
dkim_verify_new(const struct dkim_verify_options *options)
{
	struct dkim_verify *v = xcalloc(1, sizeof(*v));

	if (options != NULL)
		v->opt = *options;
	else
		dkim_verify_options_default(&v->opt);
	return v;
}

static char *
nstrdup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void set_verdict(struct dkim_result *r, enum dkim_verdict verdict, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_verdict(struct dkim_result *r, enum dkim_verdict verdict, const char *fmt, ...)
{
	struct buf reason = BUF_INIT;
	va_list ap;

	r->verdict = verdict;
	free(r->reason);
	r->reason = NULL;
	if (fmt == NULL)
		return;
	va_start(ap, fmt);
	buf_vprintf(&reason, fmt, ap);
	va_end(ap);
	r->reason = reason.data;
}

/* Field names compare without case and without white space before the colon. */
static bool
is_signature_field(const char *name)
{
	size_t len = strlen(name);

	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	return len == 14 && strncasecmp(name, "DKIM-Signature", 14) == 0;
}

static void
add_signature(struct dkim_verify *v, size_t header)
{
	const char *value = v->headers[header].value;
	struct pending *p;
	struct dkim_result *r;
	struct buf reason = BUF_INIT;
	enum dkim_parse st;

	v->pending = xgrow(v->pending, v->count, sizeof(*v->pending));
	v->results = xgrow(v->results, v->count, sizeof(*v->results));
	p = &v->pending[v->count];
	r = &v->results[v->count++];
	memset(r, 0, sizeof(*r));
	p->header = header;
	st = dkim_sig_parse(value, strlen(value), &p->sig, &reason);
	r->domain = nstrdup(p->sig.domain);
	r->selector = nstrdup(p->sig.selector);
	r->algorithm = nstrdup(p->sig.algorithm);
	r->identity = nstrdup(p->sig.identity);
	memcpy(r->b_prefix, p->sig.b_prefix, sizeof(r->b_prefix));
	r->has_l = p->sig.has_l;
	r->l = p->sig.l;
	p->open = st == DKIM_PARSE_OK;
	if (st != DKIM_PARSE_OK)
		set_verdict(r, st == DKIM_PARSE_SYNTAX ? DKIM_NEUTRAL : DKIM_PERMERROR, "%s",
		            buf_str(&reason));
	else if (p->sig.has_l && v->opt.length_policy == DKIM_LENGTH_REFUSE) {
		set_verdict(r, DKIM_POLICY, "l= body length limits are not accepted");
		p->open = false;
	}
	buf_free(&reason);
}

void
dkim_verify_header(struct dkim_verify *v, const char *name, const char *value)
{
	if (v->body_started)
		log_panic("dkim_verify_header after the body started");
	v->headers = xgrow(v->headers, v->header_count, sizeof(*v->headers));
	v->headers[v->header_count].name = xstrdup(name);
	v->headers[v->header_count].value = xstrdup(value);
	v->header_count++;
	if (!is_signature_field(name))
		return;
	if (v->count < v->opt.max_signatures)
		add_signature(v, v->header_count - 1);
	else
		v->skipped++;
}

/* ---------------------------------------------------------------- bodies */

static size_t
body_for(struct dkim_verify *v, const struct dkim_sig *sig)
{
	struct body_hash *b;

	for (size_t i = 0; i < v->body_count; i++) {
		b = &v->bodies[i];
		if (b->canon == sig->body_canon && b->has_l == sig->has_l &&
		    (!sig->has_l || b->l == sig->l))
			return i;
	}
	v->bodies = xgrow(v->bodies, v->body_count, sizeof(*v->bodies));
	b = &v->bodies[v->body_count];
	b->canon = sig->body_canon;
	b->has_l = sig->has_l;
	b->l = sig->l;
	dkim_body_init(&b->state, sig->body_canon);
	if (sig->has_l)
		dkim_body_set_limit(&b->state, sig->l);
	return v->body_count++;
}

/* The header is complete at the first body byte: the hashes needed are known. */
static void
start_bodies(struct dkim_verify *v)
{
	v->body_started = true;
	for (size_t i = 0; i < v->count; i++)
		if (v->pending[i].open)
			v->pending[i].body = body_for(v, &v->pending[i].sig);
}

void
dkim_verify_body(struct dkim_verify *v, const unsigned char *data, size_t len)
{
	if (!v->body_started)
		start_bodies(v);
	for (size_t i = 0; i < v->body_count; i++)
		dkim_body_update(&v->bodies[i].state, data, len);
}

/* ------------------------------------------------------------------ keys */

static void
key_lookup(struct key_entry *k, struct dns_resolver *resolver, struct dns_budget *budget)
{
	char *name = xasprintf("%s._domainkey.%s", k->selector, k->domain);
	struct dns_answer ans;
	struct buf reason = BUF_INIT;

	switch (dns_lookup(resolver, budget, name, DNS_T_TXT, &ans)) {
	case DNS_TEMPFAIL:
		k->verdict = DKIM_TEMPERROR;
		k->reason = xasprintf("key lookup failed: %s", ans.reason ? ans.reason : "?");
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		k->verdict = DKIM_PERMERROR;
		k->reason = xasprintf("no key (%s)", dns_status_name(ans.status));
		break;
	case DNS_FOUND:
		/* Several records are undefined (RFC 6376 3.6.2.2): the first usable wins. */
		k->verdict = DKIM_PERMERROR;
		for (size_t i = 0; i < ans.count && k->verdict != DKIM_PASS; i++) {
			buf_reset(&reason);
			dkim_pubkey_free(&k->key);
			if (dkim_pubkey_parse(ans.rr[i].data, ans.rr[i].len, &k->key, &reason) ==
			    DKIM_PARSE_OK)
				k->verdict = DKIM_PASS;
			else if (k->reason == NULL)
				k->reason = xstrdup(buf_str(&reason));
		}
		if (k->verdict == DKIM_PASS) {
			free(k->reason);
			k->reason = NULL;
		}
		break;
	}
	buf_free(&reason);
	dns_answer_free(&ans);
	free(name);
}

static struct key_entry *
key_for(struct dkim_verify *v, const struct dkim_sig *sig, struct dns_resolver *resolver,
        struct dns_budget *budget)
{
	struct key_entry *k;

	for (size_t i = 0; i < v->key_count; i++) {
		k = &v->keys[i];
		if (strcasecmp(k->selector, sig->selector) == 0 &&
		    strcasecmp(k->domain, sig->domain) == 0)
			return k;
	}
	v->keys = xgrow(v->keys, v->key_count, sizeof(*v->keys));
	k = &v->keys[v->key_count++];
	memset(k, 0, sizeof(*k));
	k->selector = sig->selector;
	k->domain = sig->domain;
	key_lookup(k, resolver, budget);
	return k;
}

/* What the key record allows this signature (RFC 6376 6.1.2); true if usable. */
static bool
key_acceptable(const struct dkim_verify *v, const struct dkim_sig *sig,
               const struct dkim_pubkey *key, struct dkim_result *r)
{
	const char *at = strrchr(sig->identity, '@');

	if (key->revoked) {
		set_verdict(r, DKIM_PERMERROR, "key revoked");
		return false;
	}
	if ((key->type == DKIM_KEY_ED25519) != (sig->alg == DKIM_SIG_ED25519_SHA256)) {
		set_verdict(r, DKIM_PERMERROR, "key type does not match a=");
		return false;
	}
	if (key->strict && (at == NULL || strcasecmp(at + 1, sig->domain) != 0)) {
		set_verdict(r, DKIM_PERMERROR, "i= is a subdomain of d= but the key says t=s");
		return false;
	}
	if (key->type == DKIM_KEY_RSA && key->bits < (int)v->opt.min_rsa_bits) {
		set_verdict(r, DKIM_POLICY, "RSA key of %d bits is shorter than %u", key->bits,
		            v->opt.min_rsa_bits);
		return false;
	}
	return true;
}

/* ---------------------------------------------------------- header index */

static int
entry_cmp(const void *a, const void *b)
{
	const struct name_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->header < y->header ? -1 : x->header > y->header;
}

/* Lower-case field names without trailing white space, sorted once: O(n log n). */
static void
index_build(const struct dkim_verify *v, struct header_index *ix)
{
	size_t total = 0, pos = 0;

	for (size_t i = 0; i < v->header_count; i++)
		total += strlen(v->headers[i].name) + 1;
	ix->names = xmalloc(total + 1);
	ix->entries = xcalloc(v->header_count + 1, sizeof(*ix->entries));
	ix->groups = xcalloc(v->header_count + 1, sizeof(*ix->groups));
	ix->group_count = 0;
	for (size_t i = 0; i < v->header_count; i++) {
		const char *name = v->headers[i].name;
		size_t len = strlen(name);
		while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
			len--;
		ix->entries[i].name = ix->names + pos;
		ix->entries[i].header = i;
		for (size_t k = 0; k < len; k++)
			ix->names[pos++] =
			    (char)(name[k] >= 'A' && name[k] <= 'Z' ? name[k] + 32 : name[k]);
		ix->names[pos++] = '\0';
	}
	qsort(ix->entries, v->header_count, sizeof(*ix->entries), entry_cmp);
	for (size_t i = 0; i < v->header_count; i++) {
		struct name_group *g = &ix->groups[ix->group_count];
		if (i > 0 && strcmp(ix->entries[i].name, g[-1].name) == 0) {
			g[-1].count++;
			continue;
		}
		g->name = ix->entries[i].name;
		g->start = i;
		g->count = 1;
		ix->group_count++;
	}
}

static void
index_free(struct header_index *ix)
{
	free(ix->names);
	free(ix->entries);
	free(ix->groups);
}

static int
group_cmp(const void *key, const void *member)
{
	return strcmp(key, ((const struct name_group *)member)->name);
}

/*
 * The next field called name from the bottom up (RFC 6376 5.4.2), never
 * the signature's own field; SIZE_MAX when none is left (a name signed
 * more often than present contributes nothing).
 */
static size_t
index_take(struct header_index *ix, const char *name, size_t self)
{
	struct name_group *g =
	    bsearch(name, ix->groups, ix->group_count, sizeof(*ix->groups), group_cmp);

	while (g != NULL && g->used < g->count) {
		size_t header = ix->entries[g->start + g->count - 1 - g->used++].header;
		if (header != self)
			return header;
	}
	return SIZE_MAX;
}

static void
index_reset(struct header_index *ix)
{
	for (size_t i = 0; i < ix->group_count; i++)
		ix->groups[i].used = 0;
}

/* ---------------------------------------------------------------- checks */

static void
header_digest(const struct dkim_verify *v, struct header_index *ix, const struct pending *p,
              unsigned char digest[32])
{
	const struct dkim_sig *sig = &p->sig;
	const struct header *self = &v->headers[p->header];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct buf line = BUF_INIT, stripped = BUF_INIT;
	unsigned int dlen = 32;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		log_panic("SHA-256 unavailable");
	index_reset(ix);
	for (size_t i = 0; i < sig->h_count; i++) {
		size_t h = index_take(ix, sig->h[i], p->header);
		if (h == SIZE_MAX)
			continue;
		buf_reset(&line);
		dkim_canon_header(sig->header_canon, v->headers[h].name, v->headers[h].value, &line,
		                  true);
		EVP_DigestUpdate(md, line.data, line.len);
	}
	/* The signature's own field last, b= emptied, without its CRLF (3.7). */
	buf_append(&stripped, self->value, sig->b_cut_start);
	buf_puts(&stripped, self->value + sig->b_cut_end);
	buf_reset(&line);
	dkim_canon_header(sig->header_canon, self->name, buf_str(&stripped), &line, false);
	EVP_DigestUpdate(md, line.data, line.len);
	EVP_DigestFinal_ex(md, digest, &dlen);
	EVP_MD_CTX_free(md);
	buf_free(&line);
	buf_free(&stripped);
}

/* RSA: PKCS#1 v1.5 over SHA-256; Ed25519: over the SHA-256 digest (RFC 8463). */
static bool
signature_valid(const struct dkim_pubkey *key, const struct buf *b, const unsigned char digest[32])
{
	const unsigned char *sig = (const unsigned char *)b->data;
	bool ok;

	if (key->type == DKIM_KEY_ED25519) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		ok = md != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL, key->pkey) == 1 &&
		     EVP_DigestVerify(md, sig, b->len, digest, 32) == 1;
		EVP_MD_CTX_free(md);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key->pkey, NULL);
		ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		     EVP_PKEY_verify(ctx, sig, b->len, digest, 32) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	ERR_clear_error();
	return ok;
}

/* Body hash (and l=) of an otherwise acceptable signature; true if it matches. */
static bool
body_matches(const struct dkim_verify *v, const struct pending *p, struct dkim_result *r)
{
	const struct body_hash *b = &v->bodies[p->body];

	if (p->sig.has_l && b->state.length < p->sig.l) {
		set_verdict(r, DKIM_FAIL, "l= is longer than the body");
		return false;
	}
	if (memcmp(b->digest, p->sig.bh.data, 32) != 0) {
		set_verdict(r, DKIM_FAIL, "body hash mismatch");
		return false;
	}
	return true;
}

static void
check_signature(struct dkim_verify *v, struct header_index *ix, size_t i,
                struct dns_resolver *resolver, struct dns_budget *budget, time_t now)
{
	struct pending *p = &v->pending[i];
	struct dkim_result *r = &v->results[i];
	struct key_entry *k;
	unsigned char digest[32];

	if (p->sig.has_x && (int64_t)now > p->sig.x) {
		set_verdict(r, DKIM_PERMERROR, "signature expired");
		return;
	}
	k = key_for(v, &p->sig, resolver, budget);
	if (k->verdict != DKIM_PASS) {
		set_verdict(r, k->verdict, "%s", k->reason);
		return;
	}
	r->key_bits = k->key.bits;
	r->testing = k->key.testing;
	if (!key_acceptable(v, &p->sig, &k->key, r) || !body_matches(v, p, r))
		return;
	header_digest(v, ix, p, digest);
	if (!signature_valid(&k->key, &p->sig.b, digest)) {
		set_verdict(r, DKIM_FAIL, "signature mismatch");
		return;
	}
	set_verdict(r, DKIM_PASS, NULL);
	if (p->sig.has_l) {
		r->unsigned_length = v->bodies[p->body].state.length - p->sig.l;
		set_verdict(r, DKIM_PASS, "l=%llu, %llu body bytes unsigned",
		            (unsigned long long)p->sig.l, (unsigned long long)r->unsigned_length);
	}
}

void
dkim_verify_finish(struct dkim_verify *v, struct dns_resolver *resolver, struct dns_budget *budget,
                   time_t now)
{
	struct header_index ix;
	bool any_open = false;

	if (v->finished)
		return;
	v->finished = true;
	if (!v->body_started)
		start_bodies(v); /* no body at all */
	for (size_t i = 0; i < v->body_count; i++)
		dkim_body_final(&v->bodies[i].state, v->bodies[i].digest);
	for (size_t i = 0; i < v->count; i++)
		any_open = any_open || v->pending[i].open;
	if (!any_open)
		return;
	index_build(v, &ix);
	for (size_t i = 0; i < v->count; i++)
		if (v->pending[i].open)
			check_signature(v, &ix, i, resolver, budget, now);
	index_free(&ix);
}

size_t
dkim_verify_results(const struct dkim_verify *v, const struct dkim_result **results)
{
	*results = v->results;
	return v->count;
}

size_t
dkim_verify_skipped(const struct dkim_verify *v)
{
	return v->skipped;
}

size_t
dkim_verify_body_hashes(const struct dkim_verify *v)
{
	return v->body_count;
}

void
dkim_verify_free(struct dkim_verify *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->header_count; i++) {
		free(v->headers[i].name);
		free(v->headers[i].value);
	}
	for (size_t i = 0; i < v->count; i++) {
		struct dkim_result *r = &v->results[i];
		dkim_sig_free(&v->pending[i].sig);
		free(r->reason);
		free(r->domain);
		free(r->selector);
		free(r->identity);
		free(r->algorithm);
	}
	for (size_t i = 0; i < v->body_count; i++)
		dkim_body_free(&v->bodies[i].state);
	for (size_t i = 0; i < v->key_count; i++) {
		free(v->keys[i].reason);
		dkim_pubkey_free(&v->keys[i].key);
	}
	free(v->headers);
	free(v->pending);
	free(v->results);
	free(v->bodies);
	free(v->keys);
	free(v);
}
