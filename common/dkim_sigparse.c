/*
 * dkim_sigparse - DKIM tag lists, signatures and key records; see dkim_sigparse.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "common/dkim_sigparse.h"
#include "common/xalloc.h"

/* Names from the input are quoted in reasons, but never at length. */
#define QUOTE_MAX 24

static bool
is_fws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_valchar(int c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

static size_t
skip_fws(const char *text, size_t len, size_t p)
{
	while (p < len && is_fws((unsigned char)text[p]))
		p++;
	return p;
}

static bool
same_name(const struct dkim_tag *a, const struct dkim_tag *b)
{
	return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

/* One tag-spec from p on (RFC 6376 3.2); p ends at the ";" or the end. */
static enum dkim_parse
parse_tag(const char *text, size_t len, size_t *pos, struct dkim_tag *tag, struct buf *reason)
{
	size_t p = *pos;

	if (!isalpha((unsigned char)text[p])) {
		buf_puts(reason, "tag list syntax: tag name expected");
		return DKIM_PARSE_SYNTAX;
	}
	tag->name = text + p;
	while (p < len && (isalnum((unsigned char)text[p]) || text[p] == '_'))
		p++;
	tag->name_len = (size_t)(text + p - tag->name);
	p = skip_fws(text, len, p);
	if (p == len || text[p] != '=') {
		buf_printf(reason, "tag list syntax: no \"=\" after %.*s",
		           tag->name_len < QUOTE_MAX ? (int)tag->name_len : QUOTE_MAX, tag->name);
		return DKIM_PARSE_SYNTAX;
	}
	tag->cut_start = ++p;
	p = skip_fws(text, len, p);
	tag->value = text + p;
	tag->value_len = 0;
	for (; p < len && text[p] != ';'; p++) {
		unsigned char c = (unsigned char)text[p];
		if (is_fws(c))
			continue;
		if (!is_valchar(c)) {
			buf_printf(reason, "tag list syntax: bad character in %.*s=",
			           tag->name_len < QUOTE_MAX ? (int)tag->name_len : QUOTE_MAX,
			           tag->name);
			return DKIM_PARSE_SYNTAX;
		}
		tag->value_len = (size_t)(text + p + 1 - tag->value);
	}
	tag->cut_end = p;
	*pos = p;
	return DKIM_PARSE_OK;
}

enum dkim_parse
dkim_taglist_parse(const char *text, size_t len, struct dkim_taglist *list, struct buf *reason)
{
	size_t p = 0;

	list->count = 0;
	for (;;) {
		struct dkim_tag tag;
		enum dkim_parse st;

		p = skip_fws(text, len, p);
		if (p == len)
			return DKIM_PARSE_OK; /* the last ";" is optional */
		if ((st = parse_tag(text, len, &p, &tag, reason)) != DKIM_PARSE_OK)
			return st;
		if (list->count == DKIM_TAGS_MAX) {
			buf_printf(reason, "tag list syntax: more than %d tags", DKIM_TAGS_MAX);
			return DKIM_PARSE_SYNTAX;
		}
		for (size_t i = 0; i < list->count; i++) {
			if (same_name(&list->tags[i], &tag)) {
				buf_printf(reason, "tag list syntax: %.*s= given twice",
				           tag.name_len < QUOTE_MAX ? (int)tag.name_len : QUOTE_MAX,
				           tag.name);
				return DKIM_PARSE_SYNTAX;
			}
		}
		list->tags[list->count++] = tag;
		if (p == len)
			return DKIM_PARSE_OK;
		p++; /* the ";" */
	}
}

const struct dkim_tag *
dkim_taglist_get(const struct dkim_taglist *list, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < list->count; i++)
		if (list->tags[i].name_len == len && memcmp(list->tags[i].name, name, len) == 0)
			return &list->tags[i];
	return NULL;
}

static int
base64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
dkim_base64_decode(const char *text, size_t len, struct buf *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t chars = 0, pad = 0;

	buf_append(out, "", 0);
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)text[i], v;
		if (is_fws(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = base64_value(c)) < 0)
			return -1; /* data after padding, or not base64 */
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		chars++;
		if (bits >= 8) {
			bits -= 8;
			unsigned char byte = (unsigned char)(acc >> bits);
			buf_append(out, &byte, 1);
		}
	}
	if (chars % 4 == 1 || pad > 2 || (pad > 0 && (chars + pad) % 4 != 0))
		return -1;
	return 0;
}

/* ------------------------------------------------------------ signatures */

static char *
tag_strdup(const struct dkim_tag *tag, size_t max)
{
	return xstrndup(tag->value, tag->value_len < max ? tag->value_len : max);
}

static bool
value_is(const struct dkim_tag *tag, const char *text)
{
	return tag->value_len == strlen(text) && strncasecmp(tag->value, text, tag->value_len) == 0;
}

static enum dkim_parse
invalid(struct buf *reason, const char *what)
{
	buf_puts(reason, what);
	return DKIM_PARSE_INVALID;
}

/*
 * A domain name as DKIM uses it: dot-separated labels of letters, digits,
 * "-" and "_" (selectors use "_" in practice), 1 to 63 bytes each.
 */
static bool
valid_domain(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

static enum dkim_parse
parse_alg(const struct dkim_tag *a, struct dkim_sig *sig, struct buf *reason)
{
	if (value_is(a, "rsa-sha256"))
		sig->alg = DKIM_SIG_RSA_SHA256;
	else if (value_is(a, "ed25519-sha256"))
		sig->alg = DKIM_SIG_ED25519_SHA256;
	else if (value_is(a, "rsa-sha1"))
		return invalid(reason, "rsa-sha1 is not accepted (RFC 8301)");
	else
		return invalid(reason, "unknown algorithm");
	return DKIM_PARSE_OK;
}

static int
parse_canon_name(const char *s, size_t len, enum dkim_canon *out)
{
	if (len == 6 && strncasecmp(s, "simple", 6) == 0)
		*out = DKIM_CANON_SIMPLE;
	else if (len == 7 && strncasecmp(s, "relaxed", 7) == 0)
		*out = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

/* c= "header[/body]"; absent or a header part alone means simple body. */
static enum dkim_parse
parse_canon(const struct dkim_tag *c, struct dkim_sig *sig, struct buf *reason)
{
	const char *slash;
	size_t hlen;

	sig->header_canon = DKIM_CANON_SIMPLE;
	sig->body_canon = DKIM_CANON_SIMPLE;
	if (c == NULL)
		return DKIM_PARSE_OK;
	slash = memchr(c->value, '/', c->value_len);
	hlen = slash ? (size_t)(slash - c->value) : c->value_len;
	if (parse_canon_name(c->value, hlen, &sig->header_canon) < 0 ||
	    (slash != NULL &&
	     parse_canon_name(slash + 1, c->value_len - hlen - 1, &sig->body_canon) < 0))
		return invalid(reason, "unknown canonicalization in c=");
	return DKIM_PARSE_OK;
}

/* h=: colon-separated field names, white space around them allowed. */
static enum dkim_parse
parse_h(const struct dkim_tag *h, struct dkim_sig *sig, struct buf *reason)
{
	size_t n = 1, out = 0;
	bool from = false;

	for (size_t i = 0; i < h->value_len; i++)
		n += h->value[i] == ':';
	sig->h = xcalloc(n, sizeof(*sig->h));
	sig->h_text = xmalloc(h->value_len + 1);
	for (size_t i = 0; i <= h->value_len; i++) {
		size_t start = out;
		while (i < h->value_len && h->value[i] != ':') {
			unsigned char c = (unsigned char)h->value[i++];
			if (!is_fws(c))
				sig->h_text[out++] = (char)tolower(c);
		}
		if (out == start)
			return invalid(reason, "empty field name in h=");
		sig->h_text[out++] = '\0';
		sig->h[sig->h_count] = sig->h_text + start;
		from = from || strcmp(sig->h[sig->h_count], "from") == 0;
		sig->h_count++;
	}
	return from ? DKIM_PARSE_OK : invalid(reason, "h= does not sign From");
}

/* dkim-quoted-printable (RFC 6376 2.11): "=XX" is a byte, white space goes. */
static int
decode_dqp(const struct dkim_tag *tag, struct buf *out)
{
	buf_append(out, "", 0);
	for (size_t i = 0; i < tag->value_len; i++) {
		char c = tag->value[i];
		if (is_fws((unsigned char)c))
			continue;
		if (c == '=') {
			if (i + 2 >= tag->value_len ||
			    !isxdigit((unsigned char)tag->value[i + 1]) ||
			    !isxdigit((unsigned char)tag->value[i + 2]))
				return -1;
			char hex[3] = { tag->value[i + 1], tag->value[i + 2], '\0' };
			c = (char)strtol(hex, NULL, 16);
			i += 2;
		}
		buf_append(out, &c, 1);
	}
	return 0;
}

/* The domain of an identity is d= or below it. */
static bool
identity_in_domain(const char *identity, const char *domain)
{
	const char *at = strrchr(identity, '@');
	size_t ilen, dlen = strlen(domain);

	if (at == NULL)
		return false;
	at++;
	ilen = strlen(at);
	if (ilen == dlen)
		return strcasecmp(at, domain) == 0;
	return ilen > dlen && at[ilen - dlen - 1] == '.' &&
	       strcasecmp(at + ilen - dlen, domain) == 0;
}

/* i= decoded, replacing the raw copy note_names() made; "@" d= by default. */
static enum dkim_parse
parse_identity(const struct dkim_tag *i, struct dkim_sig *sig, struct buf *reason)
{
	struct buf decoded = BUF_INIT;

	if (i == NULL)
		return DKIM_PARSE_OK;
	if (decode_dqp(i, &decoded) < 0 || memchr(decoded.data, '\0', decoded.len) != NULL) {
		buf_free(&decoded);
		return invalid(reason, "i= is not quoted-printable");
	}
	free(sig->identity);
	sig->identity = decoded.data;
	if (!identity_in_domain(sig->identity, sig->domain))
		return invalid(reason, "i= is not in d=");
	return DKIM_PARSE_OK;
}

/* Digits only; false for none or too many. */
static bool
parse_number(const struct dkim_tag *tag, size_t max_digits, uint64_t *out)
{
	uint64_t n = 0;

	if (tag->value_len == 0 || tag->value_len > max_digits)
		return false;
	for (size_t i = 0; i < tag->value_len; i++) {
		if (!isdigit((unsigned char)tag->value[i]))
			return false;
		unsigned d = (unsigned)(tag->value[i] - '0');
		n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
	}
	*out = n;
	return true;
}

/* q= lists query methods; one of them must be dns/txt. */
static bool
q_has_dns_txt(const struct dkim_tag *q)
{
	const char *p = q->value, *end = q->value + q->value_len;

	while (p < end) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		size_t n = colon ? (size_t)(colon - p) : (size_t)(end - p);
		if (n == 7 && strncasecmp(p, "dns/txt", 7) == 0)
			return true;
		p += n + 1;
	}
	return false;
}

static enum dkim_parse
parse_times(const struct dkim_taglist *list, struct dkim_sig *sig, struct buf *reason)
{
	const struct dkim_tag *l = dkim_taglist_get(list, "l");
	const struct dkim_tag *t = dkim_taglist_get(list, "t");
	const struct dkim_tag *x = dkim_taglist_get(list, "x");
	uint64_t n;

	if (l != NULL) {
		if (!parse_number(l, 76, &sig->l))
			return invalid(reason, "bad l=");
		sig->has_l = true;
	}
	if (t != NULL) {
		if (!parse_number(t, 15, &n))
			return invalid(reason, "bad t=");
		sig->t = (int64_t)n;
		sig->has_t = true;
	}
	if (x != NULL) {
		if (!parse_number(x, 15, &n))
			return invalid(reason, "bad x=");
		sig->x = (int64_t)n;
		sig->has_x = true;
	}
	if (sig->has_t && sig->has_x && sig->x < sig->t)
		return invalid(reason, "x= is before t=");
	return DKIM_PARSE_OK;
}

/* What an Authentication-Results line reports, even of a broken signature. */
static void
note_names(const struct dkim_taglist *list, struct dkim_sig *sig)
{
	const struct dkim_tag *d = dkim_taglist_get(list, "d");
	const struct dkim_tag *s = dkim_taglist_get(list, "s");
	const struct dkim_tag *a = dkim_taglist_get(list, "a");
	const struct dkim_tag *b = dkim_taglist_get(list, "b");
	const struct dkim_tag *i = dkim_taglist_get(list, "i");
	size_t n = 0;

	if (d != NULL)
		sig->domain = tag_strdup(d, 253);
	if (i != NULL)
		sig->identity = tag_strdup(i, 255);
	else if (d != NULL)
		sig->identity = xasprintf("@%s", sig->domain);
	if (s != NULL)
		sig->selector = tag_strdup(s, 253);
	if (a != NULL)
		sig->algorithm = tag_strdup(a, 32);
	for (size_t k = 0; b != NULL && k < b->value_len && n < 8; k++)
		if (!is_fws((unsigned char)b->value[k]))
			sig->b_prefix[n++] = b->value[k];
	sig->b_prefix[n] = '\0';
}

static enum dkim_parse
check_required(const struct dkim_taglist *list, struct buf *reason)
{
	static const char *const required[] = { "v", "a", "b", "bh", "d", "h", "s" };
	const struct dkim_tag *v = dkim_taglist_get(list, "v");

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (dkim_taglist_get(list, required[i]) == NULL) {
			buf_printf(reason, "missing %s= tag", required[i]);
			return DKIM_PARSE_INVALID;
		}
	}
	if (!value_is(v, "1"))
		return invalid(reason, "unsupported version v=");
	return DKIM_PARSE_OK;
}

static enum dkim_parse
parse_hashes(const struct dkim_taglist *list, struct dkim_sig *sig, struct buf *reason)
{
	const struct dkim_tag *b = dkim_taglist_get(list, "b");
	const struct dkim_tag *bh = dkim_taglist_get(list, "bh");

	if (dkim_base64_decode(b->value, b->value_len, &sig->b) < 0 || sig->b.len == 0)
		return invalid(reason, "b= is not base64");
	if (dkim_base64_decode(bh->value, bh->value_len, &sig->bh) < 0)
		return invalid(reason, "bh= is not base64");
	if (sig->bh.len != 32)
		return invalid(reason, "bh= is not a SHA-256 hash");
	sig->b_cut_start = b->cut_start;
	sig->b_cut_end = b->cut_end;
	return DKIM_PARSE_OK;
}

static enum dkim_parse
parse_names(const struct dkim_taglist *list, struct dkim_sig *sig, struct buf *reason)
{
	const struct dkim_tag *d = dkim_taglist_get(list, "d");
	const struct dkim_tag *s = dkim_taglist_get(list, "s");
	const struct dkim_tag *q = dkim_taglist_get(list, "q");

	if (!valid_domain(d->value, d->value_len))
		return invalid(reason, "d= is not a domain name");
	if (!valid_domain(s->value, s->value_len) || s->value_len + d->value_len + 12 > 253)
		return invalid(reason, "s= is not a selector");
	if (q != NULL && !q_has_dns_txt(q))
		return invalid(reason, "q= names no known query method");
	return DKIM_PARSE_OK;
}

enum dkim_parse
dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig, struct buf *reason)
{
	struct dkim_taglist list;
	enum dkim_parse st;

	memset(sig, 0, sizeof(*sig));
	if ((st = dkim_taglist_parse(value, len, &list, reason)) != DKIM_PARSE_OK)
		return st;
	note_names(&list, sig);
	if ((st = check_required(&list, reason)) != DKIM_PARSE_OK ||
	    (st = parse_alg(dkim_taglist_get(&list, "a"), sig, reason)) != DKIM_PARSE_OK ||
	    (st = parse_hashes(&list, sig, reason)) != DKIM_PARSE_OK ||
	    (st = parse_names(&list, sig, reason)) != DKIM_PARSE_OK ||
	    (st = parse_h(dkim_taglist_get(&list, "h"), sig, reason)) != DKIM_PARSE_OK ||
	    (st = parse_identity(dkim_taglist_get(&list, "i"), sig, reason)) != DKIM_PARSE_OK ||
	    (st = parse_canon(dkim_taglist_get(&list, "c"), sig, reason)) != DKIM_PARSE_OK)
		return st;
	return parse_times(&list, sig, reason);
}

void
dkim_sig_free(struct dkim_sig *sig)
{
	free(sig->domain);
	free(sig->selector);
	free(sig->algorithm);
	free(sig->identity);
	buf_free(&sig->b);
	buf_free(&sig->bh);
	free(sig->h_text);
	free(sig->h);
	memset(sig, 0, sizeof(*sig));
}

/* ----------------------------------------------------------- key records */

/* Does a colon-separated list hold item (case-insensitively)? */
static bool
list_has(const struct dkim_tag *tag, const char *item)
{
	const char *p = tag->value, *end = tag->value + tag->value_len;
	size_t ilen = strlen(item);

	while (p <= end) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *stop = colon ? colon : end;
		const char *a = p, *b = stop;
		while (a < b && is_fws((unsigned char)*a))
			a++;
		while (b > a && is_fws((unsigned char)b[-1]))
			b--;
		if ((size_t)(b - a) == ilen && strncasecmp(a, item, ilen) == 0)
			return true;
		p = stop + 1;
	}
	return false;
}

/*
 * RSA keys the fast way.  OpenSSL 3's d2i_PUBKEY() runs its generic decoder
 * machinery (about 100 us a key, five times the RSA verification itself);
 * the two encodings DKIM keys come in are walked here with OpenSSL's DER
 * reader and the key built from n and e (a few us).  Anything else still
 * goes to d2i_PUBKEY().
 */
static bool
der_next(const unsigned char **p, const unsigned char *end, int tag, const unsigned char **content,
         size_t *len)
{
	const unsigned char *q = *p;
	long l;
	int t, xclass, ret;

	if (*p >= end)
		return false;
	ret = ASN1_get_object(&q, &l, &t, &xclass, end - *p);
	if ((ret & 0x80) || (ret & 1) || t != tag || xclass != V_ASN1_UNIVERSAL ||
	    ((ret & V_ASN1_CONSTRUCTED) != 0) != (tag == V_ASN1_SEQUENCE))
		return false;
	*content = q;
	*len = (size_t)l;
	*p = q + l;
	return true;
}

/* A positive DER INTEGER as a BIGNUM. */
static BIGNUM *
der_unsigned(const unsigned char *p, size_t len)
{
	if (len == 0 || (p[0] & 0x80))
		return NULL;
	return BN_bin2bn(p, (int)len, NULL);
}

static EVP_PKEY *
rsa_from_integers(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen)
{
	BIGNUM *bn_n = der_unsigned(n, nlen), *bn_e = der_unsigned(e, elen);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pkey = NULL;

	if (bn_n != NULL && bn_e != NULL && bld != NULL && ctx != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1 &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(bn_n);
	BN_free(bn_e);
	return pkey;
}

/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } */
static EVP_PKEY *
rsa_from_pkcs1(const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len, *seq, *n, *e;
	size_t seqlen, nlen, elen;

	if (!der_next(&p, end, V_ASN1_SEQUENCE, &seq, &seqlen) || p != end)
		return NULL;
	p = seq;
	end = seq + seqlen;
	if (!der_next(&p, end, V_ASN1_INTEGER, &n, &nlen) ||
	    !der_next(&p, end, V_ASN1_INTEGER, &e, &elen) || p != end)
		return NULL;
	return rsa_from_integers(n, nlen, e, elen);
}

/* SubjectPublicKeyInfo with rsaEncryption (1.2.840.113549.1.1.1), NULL parameters. */
static EVP_PKEY *
rsa_from_spki(const unsigned char *p, size_t len)
{
	static const unsigned char rsa_oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7,
		                                 0x0d, 0x01, 0x01, 0x01 };
	const unsigned char *end = p + len, *spki, *alg, *alg_end, *oid, *null, *bits;
	size_t spki_len, alg_len, oid_len, null_len, bits_len;

	if (!der_next(&p, end, V_ASN1_SEQUENCE, &spki, &spki_len) || p != end)
		return NULL;
	p = spki;
	end = spki + spki_len;
	if (!der_next(&p, end, V_ASN1_SEQUENCE, &alg, &alg_len) ||
	    !der_next(&p, end, V_ASN1_BIT_STRING, &bits, &bits_len) || p != end)
		return NULL;
	alg_end = alg + alg_len;
	if (!der_next(&alg, alg_end, V_ASN1_OBJECT, &oid, &oid_len) || oid_len != sizeof(rsa_oid) ||
	    memcmp(oid, rsa_oid, oid_len) != 0)
		return NULL;
	if (alg != alg_end && (!der_next(&alg, alg_end, V_ASN1_NULL, &null, &null_len) ||
	                       null_len != 0 || alg != alg_end))
		return NULL;
	if (bits_len < 1 || bits[0] != 0) /* no unused bits */
		return NULL;
	return rsa_from_pkcs1(bits + 1, bits_len - 1);
}

static EVP_PKEY *
rsa_key(const struct buf *der)
{
	const unsigned char *p = (const unsigned char *)der->data;
	EVP_PKEY *pkey = rsa_from_spki(p, der->len);

	if (pkey == NULL)
		pkey = rsa_from_pkcs1(p, der->len); /* bare RSAPublicKey, as some publish */
	if (pkey == NULL) {
		pkey = d2i_PUBKEY(NULL, &p, (long)der->len);
		if (pkey != NULL && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	return pkey;
}

static enum dkim_parse
key_from_der(const struct buf *der, struct dkim_pubkey *key, struct buf *reason)
{
	if (key->type == DKIM_KEY_ED25519) {
		if (der->len != 32)
			return invalid(reason, "key p= is not a 32-byte Ed25519 key");
		key->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
		                                        (const unsigned char *)der->data, 32);
	} else {
		key->pkey = rsa_key(der);
	}
	ERR_clear_error(); /* failed attempts leave errors in this thread's queue */
	if (key->pkey == NULL)
		return invalid(reason, key->type == DKIM_KEY_RSA ? "key p= is not an RSA key"
		                                                 : "key p= is not an Ed25519 key");
	/* OpenSSL counts 253 bits for Ed25519; the key is 256 bits long. */
	key->bits = key->type == DKIM_KEY_ED25519 ? 256 : EVP_PKEY_get_bits(key->pkey);
	return DKIM_PARSE_OK;
}

static enum dkim_parse
key_tags(const struct dkim_taglist *list, struct dkim_pubkey *key, struct buf *reason)
{
	const struct dkim_tag *v = dkim_taglist_get(list, "v");
	const struct dkim_tag *h = dkim_taglist_get(list, "h");
	const struct dkim_tag *k = dkim_taglist_get(list, "k");
	const struct dkim_tag *s = dkim_taglist_get(list, "s");
	const struct dkim_tag *t = dkim_taglist_get(list, "t");

	if (v != NULL && (v != &list->tags[0] || !value_is(v, "DKIM1")))
		return invalid(reason, "key v= is not DKIM1 first");
	if (h != NULL && !list_has(h, "sha256"))
		return invalid(reason, "key h= does not allow sha256");
	if (k == NULL || value_is(k, "rsa"))
		key->type = DKIM_KEY_RSA;
	else if (value_is(k, "ed25519"))
		key->type = DKIM_KEY_ED25519;
	else
		return invalid(reason, "unknown key type k=");
	if (s != NULL && !list_has(s, "*") && !list_has(s, "email"))
		return invalid(reason, "key s= is not for email");
	key->testing = t != NULL && list_has(t, "y");
	key->strict = t != NULL && list_has(t, "s");
	return DKIM_PARSE_OK;
}

enum dkim_parse
dkim_pubkey_parse(const char *text, size_t len, struct dkim_pubkey *key, struct buf *reason)
{
	struct dkim_taglist list;
	const struct dkim_tag *p;
	struct buf der = BUF_INIT, syntax = BUF_INIT;
	enum dkim_parse st;

	memset(key, 0, sizeof(*key));
	st = dkim_taglist_parse(text, len, &list, &syntax);
	buf_free(&syntax);
	if (st != DKIM_PARSE_OK) /* a broken key record: the signature cannot pass */
		return invalid(reason, "key record is not a tag list");
	if ((st = key_tags(&list, key, reason)) != DKIM_PARSE_OK)
		return st;
	if ((p = dkim_taglist_get(&list, "p")) == NULL)
		return invalid(reason, "key has no p= tag");
	if (p->value_len == 0) {
		key->revoked = true;
		return DKIM_PARSE_OK;
	}
	if (dkim_base64_decode(p->value, p->value_len, &der) < 0)
		st = invalid(reason, "key p= is not base64");
	else
		st = key_from_der(&der, key, reason);
	buf_free(&der);
	return st;
}

void
dkim_pubkey_free(struct dkim_pubkey *key)
{
	EVP_PKEY_free(key->pkey);
	memset(key, 0, sizeof(*key));
}
