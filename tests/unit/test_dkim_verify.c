/*
 * test_dkim_verify - DKIM verification against mailward's signer, the
 * RFC 8463 example and hostile input
 *
 * Keys are made in the fixture and published in the in-memory resolver.
 * Messages signed by common/dkim_sign.c pass (RSA, Ed25519, both, every
 * canonicalization, any chunking of the body); tampering fails; the tag
 * and key-record rules give permerror, policy or neutral with a reason;
 * DNS trouble is temperror, never fail; a message with 1000 signatures
 * costs at most max_signatures lookups.  Signatures the signer cannot make
 * (l=, rsa-sha1, i=, t=s keys) are made by hand_sign() below.  Timings are
 * printed as TAP comments, never asserted.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/dkim_sign.h"
#include "common/dkim_sigparse.h"
#include "common/dkim_verify.h"
#include "common/dns.h"
#include "common/xalloc.h"
#include "tests/unit/unit.h"

#define NOW ((time_t)1790000000)

static struct dkim_key rsa2048, rsa1024, rsa512, ed25519;

/* ------------------------------------------------------------ messages */

struct msg {
	struct header h[64];
	size_t n;
	struct buf body;
};

static void
msg_add(struct msg *m, const char *name, const char *value)
{
	m->h[m->n].name = xstrdup(name);
	m->h[m->n].value = xstrdup(value);
	m->n++;
}

static void
msg_base(struct msg *m)
{
	memset(m, 0, sizeof(*m));
	msg_add(m, "From", " Alice <alice@example.com>");
	msg_add(m, "To", " Bob <bob@example.net>,\n\tCarol <carol@example.net>");
	msg_add(m, "Subject", " Lunch  on\tFriday?");
	msg_add(m, "Date", " Mon, 23 Nov 2026 19:00:00 +0000");
	msg_add(m, "Message-ID", " <lunch@example.com>");
	msg_add(m, "MIME-Version", " 1.0");
	msg_add(m, "Content-Type", " text/plain");
	buf_puts(&m->body, "Hi Bob,  \r\n\r\nlunch at  noon?\t\r\n\r\nAlice\r\n\r\n\r\n");
}

static void
msg_free(struct msg *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->h[i].name);
		free(m->h[i].value);
	}
	buf_free(&m->body);
}

static void
msg_set(struct msg *m, const char *name, const char *value)
{
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->h[i].name, name) == 0) {
			free(m->h[i].value);
			m->h[i].value = xstrdup(value);
		}
	}
}

static void
body_hash(const struct msg *m, enum dkim_canon canon, uint64_t limit, unsigned char bh[32])
{
	struct dkim_body b;

	dkim_body_init(&b, canon);
	dkim_body_set_limit(&b, limit);
	dkim_body_update(&b, (const unsigned char *)m->body.data, m->body.len);
	dkim_body_final(&b, bh);
	dkim_body_free(&b);
}

static uint64_t
canonical_length(const struct msg *m, enum dkim_canon canon)
{
	struct dkim_body b;
	unsigned char bh[32];
	uint64_t length;

	dkim_body_init(&b, canon);
	dkim_body_update(&b, (const unsigned char *)m->body.data, m->body.len);
	dkim_body_final(&b, bh);
	length = b.length;
	dkim_body_free(&b);
	return length;
}

static void
base64(const unsigned char *data, size_t len, struct buf *out)
{
	char *text = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)text, data, (int)len);
	buf_puts(out, text);
	free(text);
}

/* ---------------------------------------------------------------- keys */

static void
key_make(struct dkim_key *key, enum dkim_alg alg, size_t bits)
{
	key->alg = alg;
	key->pkey = alg == DKIM_ALG_ED25519_SHA256 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
	                                           : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
	assert_non_null(key->pkey);
	key->bits = EVP_PKEY_get_bits(key->pkey);
}

static int
setup(void **state)
{
	(void)state;
	key_make(&rsa2048, DKIM_ALG_RSA_SHA256, 2048);
	key_make(&rsa1024, DKIM_ALG_RSA_SHA256, 1024);
	key_make(&rsa512, DKIM_ALG_RSA_SHA256, 512);
	key_make(&ed25519, DKIM_ALG_ED25519_SHA256, 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	dkim_key_free(&rsa2048);
	dkim_key_free(&rsa1024);
	dkim_key_free(&rsa512);
	dkim_key_free(&ed25519);
	return 0;
}

/* Publish key at SELECTOR._domainkey.example.com, extra tags before p=. */
static void
publish(struct dns_resolver *dns, const char *selector, const struct dkim_key *key,
        const char *extra)
{
	struct buf rec = BUF_INIT;
	char name[256];

	buf_printf(&rec, "v=DKIM1; k=%s; %sp=", key->alg == DKIM_ALG_RSA_SHA256 ? "rsa" : "ed25519",
	           extra ? extra : "");
	assert_int_equal(dkim_key_public_record(key, &rec), 0);
	snprintf(name, sizeof(name), "%s._domainkey.example.com", selector);
	dns_static_txt(dns, name, buf_str(&rec));
	buf_free(&rec);
}

static struct dns_resolver *
resolver_with_keys(void)
{
	struct dns_resolver *dns = dns_static_new();

	publish(dns, "rsa", &rsa2048, NULL);
	publish(dns, "ed", &ed25519, NULL);
	publish(dns, "r1024", &rsa1024, NULL);
	publish(dns, "r512", &rsa512, NULL);
	return dns;
}

/* ------------------------------------------------------------- signing */

/* A DKIM-Signature value from mailward's signer. */
static char *
sign(const struct dkim_key *key, const char *selector, const struct msg *m, enum dkim_canon hc,
     enum dkim_canon bc, time_t t, long expire)
{
	struct dkim_sig_params p = {
		.domain = "example.com",
		.selector = selector,
		.header_canon = hc,
		.body_canon = bc,
		.sign_headers = dkim_default_sign_headers,
		.oversign_headers = dkim_default_oversign_headers,
		.timestamp = t,
		.expire_after = expire,
	};
	struct buf value = BUF_INIT, err = BUF_INIT;
	unsigned char bh[32];

	body_hash(m, bc, UINT64_MAX, bh);
	if (dkim_signature(key, &p, m->h, m->n, bh, &value, &err) < 0)
		fail_msg("signing: %s", buf_str(&err));
	buf_free(&err);
	return value.data;
}

/* The last field called name (test messages repeat none). */
static const struct header *
msg_find(const struct msg *m, const char *name)
{
	for (size_t i = m->n; i-- > 0;)
		if (strcasecmp(m->h[i].name, name) == 0)
			return &m->h[i];
	return NULL;
}

/*
 * A signature made by hand for what the signer never writes: tags is the
 * whole value up to an empty "b=" at its end, names the fields h= lists
 * (colon-separated, once each), md the hash (SHA-1 for rsa-sha1).
 */
static char *
hand_sign(const struct dkim_key *key, const EVP_MD *md, enum dkim_canon hc, const char *names,
          const char *tags, const struct msg *m)
{
	struct buf input = BUF_INIT, out = BUF_INIT;
	unsigned char digest[64], sig[1024];
	unsigned int dlen;
	size_t siglen = sizeof(sig);
	char *list = xstrdup(names);

	for (char *name = strtok(list, ":"); name != NULL; name = strtok(NULL, ":")) {
		const struct header *h = msg_find(m, name);
		if (h != NULL)
			dkim_canon_header(hc, h->name, h->value, &input, true);
	}
	free(list);
	dkim_canon_header(hc, "DKIM-Signature", tags, &input, false);
	assert_int_equal(EVP_Digest(input.data, input.len, digest, &dlen, md, NULL), 1);
	if (key->alg == DKIM_ALG_ED25519_SHA256) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey), 1);
		assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, digest, dlen), 1);
		EVP_MD_CTX_free(ctx);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key->pkey, NULL);
		assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, md), 1);
		assert_int_equal(EVP_PKEY_sign(ctx, sig, &siglen, digest, dlen), 1);
		EVP_PKEY_CTX_free(ctx);
	}
	buf_puts(&out, tags);
	base64(sig, siglen, &out);
	buf_free(&input);
	return out.data;
}

/* Tags up to "b=" for hand_sign: the usual ones plus extra, bh= over the body. */
static char *
hand_tags(const char *alg, const char *selector, const char *extra, const struct msg *m,
          uint64_t limit)
{
	struct buf tags = BUF_INIT;
	unsigned char bh[32];

	body_hash(m, DKIM_CANON_RELAXED, limit, bh);
	buf_printf(
	    &tags,
	    " v=1; a=%s; c=relaxed/relaxed; d=example.com; s=%s;\n\t%sh=from:subject;\n\tbh=", alg,
	    selector, extra ? extra : "");
	base64(bh, 32, &tags);
	buf_puts(&tags, "; b=");
	return tags.data;
}

static char *
hand_signed(const struct dkim_key *key, const char *selector, const char *extra,
            const struct msg *m, uint64_t limit)
{
	char *tags = hand_tags(key->alg == DKIM_ALG_RSA_SHA256 ? "rsa-sha256" : "ed25519-sha256",
	                       selector, extra, m, limit);
	char *value = hand_sign(key, EVP_sha256(), DKIM_CANON_RELAXED, "from:subject", tags, m);

	free(tags);
	return value;
}

/* ----------------------------------------------------------- verifying */

/* Feed signatures (top first), then the message, the body in chunks of chunk bytes. */
static struct dkim_verify *
verify(struct dns_resolver *dns, const struct dkim_verify_options *opt, char *const *sigs,
       size_t nsigs, const struct msg *m, size_t chunk, time_t now)
{
	struct dkim_verify *v = dkim_verify_new(opt);

	for (size_t i = 0; i < nsigs; i++)
		dkim_verify_header(v, "DKIM-Signature", sigs[i]);
	for (size_t i = 0; i < m->n; i++)
		dkim_verify_header(v, m->h[i].name, m->h[i].value);
	if (chunk == 0)
		chunk = m->body.len ? m->body.len : 1;
	for (size_t i = 0; i < m->body.len; i += chunk)
		dkim_verify_body(v, (const unsigned char *)m->body.data + i,
		                 m->body.len - i < chunk ? m->body.len - i : chunk);
	dkim_verify_finish(v, dns, NULL, now);
	return v;
}

/* The one result of a one-signature message as "verdict (reason)". */
static char *
verify_one(struct dns_resolver *dns, const struct dkim_verify_options *opt, char *sig,
           const struct msg *m)
{
	struct dkim_verify *v = verify(dns, opt, &sig, 1, m, 0, NOW);
	const struct dkim_result *r;
	char *text;

	assert_int_equal(dkim_verify_results(v, &r), 1);
	text = xasprintf("%s (%s)", dkim_verdict_name(r->verdict), r->reason ? r->reason : "");
	dkim_verify_free(v);
	return text;
}

static void
assert_verdict(const char *what, const char *got, const char *want)
{
	if (strncmp(got, want, strlen(want)) != 0)
		fail_msg("%s: got \"%s\", expected \"%s...\"", what, got, want);
}

/* --------------------------------------------------------------- tests */

static void
own_signatures_pass_in_every_canonicalization_and_chunking(void **state)
{
	static const struct {
		const struct dkim_key *key;
		const char *selector;
		int bits;
	} keys[] = { { &rsa2048, "rsa", 2048 },
		     { &ed25519, "ed", 256 },
		     { &rsa1024, "r1024", 1024 } };
	static const size_t chunks[] = { 0, 1, 7, 64 };
	struct dns_resolver *dns = resolver_with_keys();
	struct msg m;

	(void)state;
	msg_base(&m);
	for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
		for (int hc = 0; hc < 2; hc++) {
			for (int bc = 0; bc < 2; bc++) {
				char *sig =
				    sign(keys[k].key, keys[k].selector, &m, hc, bc, NOW - 60, 0);
				for (size_t c = 0; c < ARRAY_LEN(chunks); c++) {
					struct dkim_verify *v =
					    verify(dns, NULL, &sig, 1, &m, chunks[c], NOW);
					const struct dkim_result *r;
					assert_int_equal(dkim_verify_results(v, &r), 1);
					if (r->verdict != DKIM_PASS)
						fail_msg("%s c=%d/%d chunk %zu: %s (%s)",
						         keys[k].selector, hc, bc, chunks[c],
						         dkim_verdict_name(r->verdict), r->reason);
					assert_null(r->reason);
					assert_string_equal(r->domain, "example.com");
					assert_string_equal(r->selector, keys[k].selector);
					assert_string_equal(r->identity, "@example.com");
					assert_int_equal(r->key_bits, keys[k].bits);
					assert_int_equal(strlen(r->b_prefix), 8);
					dkim_verify_free(v);
				}
				free(sig);
			}
		}
	}
	msg_free(&m);
	dns_resolver_free(dns);
}

static void
dual_signature_passes_both_with_one_body_hash(void **state)
{
	struct dns_resolver *dns = resolver_with_keys();
	struct msg m;
	char *sigs[2];
	const struct dkim_result *r;
	struct dkim_verify *v;

	(void)state;
	msg_base(&m);
	sigs[0] = sign(&rsa2048, "rsa", &m, DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE, NOW, 0);
	sigs[1] = sign(&ed25519, "ed", &m, DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE, NOW, 0);
	v = verify(dns, NULL, sigs, 2, &m, 5, NOW);
	assert_int_equal(dkim_verify_results(v, &r), 2);
	assert_int_equal(r[0].verdict, DKIM_PASS);
	assert_string_equal(r[0].algorithm, "rsa-sha256");
	assert_int_equal(r[1].verdict, DKIM_PASS);
	assert_string_equal(r[1].algorithm, "ed25519-sha256");
	assert_int_equal(dkim_verify_body_hashes(v), 1);
	assert_int_equal(dns_static_lookups(dns), 2);
	dkim_verify_free(v);
	free(sigs[0]);
	free(sigs[1]);
	msg_free(&m);
	dns_resolver_free(dns);
}

static void
tampered_messages_fail(void **state)
{
	struct dns_resolver *dns = resolver_with_keys();
	struct msg m;
	char *sig, *got;

	(void)state;
	msg_base(&m);
	sig = sign(&rsa2048, "rsa", &m, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, NOW, 0);

	buf_puts(&m.body, "P.S. visit evil.example\r\n");
	got = verify_one(dns, NULL, sig, &m);
	assert_verdict("appended body", got, "fail (body hash mismatch)");
	free(got);
	msg_free(&m);

	msg_base(&m);
	msg_set(&m, "Subject", " Dinner on Friday?");
	got = verify_one(dns, NULL, sig, &m);
	assert_verdict("changed Subject", got, "fail (signature mismatch)");
	free(got);
	msg_free(&m);

	msg_base(&m);
	msg_set(&m, "Subject", " Lunch on  Friday? "); /* white space: relaxed does not care */
	msg_add(&m, "X-Mailer", " unsigned fields may be added");
	got = verify_one(dns, NULL, sig, &m);
	assert_verdict("white space and an unsigned field", got, "pass");
	free(got);

	msg_add(&m, "From", " Mallory <mallory@example.com>"); /* oversigned */
	got = verify_one(dns, NULL, sig, &m);
	assert_verdict("a second From", got, "fail (signature mismatch)");
	free(got);
	free(sig);
	msg_free(&m);

	/* Ed25519 and simple: one changed space in the body. */
	msg_base(&m);
	sig = sign(&ed25519, "ed", &m, DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE, NOW, 0);
	m.body.data[3] = '\t';
	got = verify_one(dns, NULL, sig, &m);
	assert_verdict("simple body, one byte", got, "fail (body hash mismatch)");
	free(got);
	free(sig);
	msg_free(&m);
	dns_resolver_free(dns);
}

static void
expired_signature_is_permerror(void **state)
{
	struct dns_resolver *dns = resolver_with_keys();
	struct msg m;
	char *sig, *got;

	(void)state;
	msg_base(&m);
	sig = sign(&rsa2048, "rsa", &m, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, NOW - 7200, 3600);
	got = verify_one(dns, NULL, sig, &m);
	assert_verdict("x= an hour ago", got, "permerror (signature expired)");
	assert_int_equal(dns_static_lookups(dns), 0); /* no lookup for it */
	free(got);
	free(sig);
	sig = sign(&rsa2048, "rsa", &m, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, NOW - 7200, 7200);
	got = verify_one(dns, NULL, sig, &m);
	assert_verdict("x= now", got, "pass");
	free(got);
	free(sig);
	msg_free(&m);
	dns_resolver_free(dns);
}

static void
short_rsa_key_is_policy_unless_allowed(void **state)
{
	struct dns_resolver *dns = resolver_with_keys();
	struct dkim_verify_options opt;
	struct dkim_verify *v;
	const struct dkim_result *r;
	struct msg m;
	char *sig, *got;

	(void)state;
	msg_base(&m);
	sig = sign(&rsa512, "r512", &m, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, NOW, 0);
	v = verify(dns, NULL, &sig, 1, &m, 0, NOW);
	assert_int_equal(dkim_verify_results(v, &r), 1);
	assert_int_equal(r->verdict, DKIM_POLICY);
	assert_string_equal(r->reason, "RSA key of 512 bits is shorter than 1024");
	assert_int_equal(r->key_bits, 512);
	dkim_verify_free(v);
	dkim_verify_options_default(&opt);
	opt.min_rsa_bits = 512;
	got = verify_one(dns, &opt, sig, &m);
	assert_verdict("512 bits allowed", got, "pass");
	free(got);
	free(sig);
	msg_free(&m);
	dns_resolver_free(dns);
}

struct key_case {
	const char *what;
	const char *record; /* NULL: publish the named key with extra tags */
	const struct dkim_key *key;
	const char *extra;
	const char *verdict;
};

static void
key_records_decide(void **state)
{
	const struct key_case cases[] = {
		{ "revoked (empty p=)", "v=DKIM1; k=rsa; p=", NULL, NULL,
		  "permerror (key revoked)" },
		{ "an Ed25519 key for rsa-sha256", NULL, &ed25519, NULL,
		  "permerror (key type does not match a=)" },
		{ "h= without sha256", NULL, &rsa2048, "h=sha1; ",
		  "permerror (key h= does not allow sha256)" },
		{ "h= with sha256", NULL, &rsa2048, "h=sha1:sha256; ", "pass" },
		{ "s= other service", NULL, &rsa2048, "s=tlsrpt; ",
		  "permerror (key s= is not for email)" },
		{ "s= email", NULL, &rsa2048, "s=email; ", "pass" },
		{ "s=*", NULL, &rsa2048, "s=*; ", "pass" },
		{ "unknown k=", "v=DKIM1; k=dsa; p=AAAA", NULL, NULL,
		  "permerror (unknown key type k=)" },
		{ "v=DKIM2", "v=DKIM2; p=AAAA", NULL, NULL, "permerror (key v= is not DKIM1" },
		{ "v= not first", "k=rsa; v=DKIM1; p=AAAA", NULL, NULL,
		  "permerror (key v= is not DKIM1" },
		{ "no p=", "v=DKIM1; k=rsa", NULL, NULL, "permerror (key has no p= tag)" },
		{ "p= not base64", "v=DKIM1; p=not*base64", NULL, NULL,
		  "permerror (key p= is not base64)" },
		{ "p= not a key", "v=DKIM1; p=AQAB", NULL, NULL,
		  "permerror (key p= is not an RSA" },
		{ "not a tag list", "this is no DKIM key", NULL, NULL,
		  "permerror (key record is not a tag list)" },
		{ "unknown tags and t=y", NULL, &rsa2048, "t=y; zz=whatever; ", "pass" },
		{ "t=s with i= in d=", NULL, &rsa2048, "t=s; ", "pass" },
	};
	struct msg m;

	(void)state;
	msg_base(&m);
	char *sig = sign(&rsa2048, "k", &m, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, NOW, 0);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct dns_resolver *dns = dns_static_new();
		if (cases[i].record != NULL)
			dns_static_txt(dns, "k._domainkey.example.com", cases[i].record);
		else
			publish(dns, "k", cases[i].key, cases[i].extra);
		char *got = verify_one(dns, NULL, sig, &m);
		assert_verdict(cases[i].what, got, cases[i].verdict);
		free(got);
		dns_resolver_free(dns);
	}
	free(sig);
	msg_free(&m);
}

static void
key_flags_testing_and_strict(void **state)
{
	struct dns_resolver *dns = dns_static_new();
	struct dkim_verify *v;
	const struct dkim_result *r;
	struct msg m;
	char *sig, *got;

	(void)state;
	msg_base(&m);
	publish(dns, "t", &ed25519, "t=y:s; ");
	sig = hand_signed(&ed25519, "t", "i=@example.com; ", &m, UINT64_MAX);
	v = verify(dns, NULL, &sig, 1, &m, 0, NOW);
	assert_int_equal(dkim_verify_results(v, &r), 1);
	assert_int_equal(r->verdict, DKIM_PASS);
	assert_true(r->testing);
	dkim_verify_free(v);
	free(sig);
	sig = hand_signed(&ed25519, "t", "i=alice@news.example.com; ", &m, UINT64_MAX);
	got = verify_one(dns, NULL, sig, &m);
	assert_verdict("t=s, i= in a subdomain", got, "permerror (i= is a subdomain of d=");
	free(got);
	free(sig);
	publish(dns, "loose", &ed25519, NULL);
	sig = hand_signed(&ed25519, "loose", "i=alice=40x@news.example.com; ", &m, UINT64_MAX);
	v = verify(dns, NULL, &sig, 1, &m, 0, NOW);
	assert_int_equal(dkim_verify_results(v, &r), 1);
	assert_int_equal(r->verdict, DKIM_PASS);
	assert_string_equal(r->identity, "alice@x@news.example.com"); /* quoted-printable */
	dkim_verify_free(v);
	free(sig);
	msg_free(&m);
	dns_resolver_free(dns);
}

struct tag_case {
	const char *what;
	const char *value;
	enum dkim_parse parse;
	const char *reason;
};

#define BH  "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;"
#define REQ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; " BH " b=AAAA"

static void
signature_tags_are_checked(void **state)
{
	const struct tag_case cases[] = {
		{ "minimal", REQ, DKIM_PARSE_OK, "" },
		{ "trailing ; and folding",
		  " v=1;\r\n\ta=rsa-sha256; d=example.com; s=sel;\n h=from; " BH " b=AA\r\n AA;\n",
		  DKIM_PARSE_OK, "" },
		{ "missing v=", "a=rsa-sha256; d=example.com; s=sel; h=from; " BH " b=AAAA",
		  DKIM_PARSE_INVALID, "missing v= tag" },
		{ "missing a=", "v=1; d=example.com; s=sel; h=from; " BH " b=AAAA",
		  DKIM_PARSE_INVALID, "missing a= tag" },
		{ "missing b=", "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; " BH,
		  DKIM_PARSE_INVALID, "missing b= tag" },
		{ "missing bh=", "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; b=AAAA",
		  DKIM_PARSE_INVALID, "missing bh= tag" },
		{ "missing d=", "v=1; a=rsa-sha256; s=sel; h=from; " BH " b=AAAA",
		  DKIM_PARSE_INVALID, "missing d= tag" },
		{ "missing h=", "v=1; a=rsa-sha256; d=example.com; s=sel; " BH " b=AAAA",
		  DKIM_PARSE_INVALID, "missing h= tag" },
		{ "missing s=", "v=1; a=rsa-sha256; d=example.com; h=from; " BH " b=AAAA",
		  DKIM_PARSE_INVALID, "missing s= tag" },
		{ "v=2", "v=2; a=rsa-sha256; d=example.com; s=sel; h=from; " BH " b=AAAA",
		  DKIM_PARSE_INVALID, "unsupported version" },
		{ "rsa-sha1", "v=1; a=rsa-sha1; d=example.com; s=sel; h=from; " BH " b=AAAA",
		  DKIM_PARSE_INVALID, "rsa-sha1 is not accepted (RFC 8301)" },
		{ "unknown algorithm",
		  "v=1; a=rsa-sha512; d=example.com; s=sel; h=from; " BH " b=AAAA",
		  DKIM_PARSE_INVALID, "unknown algorithm" },
		{ "h= without From",
		  "v=1; a=rsa-sha256; d=example.com; s=sel; h=to:subject; " BH " b=AAAA",
		  DKIM_PARSE_INVALID, "h= does not sign From" },
		{ "empty name in h=",
		  "v=1; a=rsa-sha256; d=example.com; s=sel; h=from::to; " BH " b=AAAA",
		  DKIM_PARSE_INVALID, "empty field name in h=" },
		{ "i= outside d=", REQ "; i=@example.net", DKIM_PARSE_INVALID, "i= is not in d=" },
		{ "i= a look-alike", REQ "; i=@badexample.com", DKIM_PARSE_INVALID,
		  "i= is not in d=" },
		{ "i= below d=", REQ "; i=x@a.b.example.com", DKIM_PARSE_OK, "" },
		{ "i= without @", REQ "; i=example.com", DKIM_PARSE_INVALID, "i= is not in d=" },
		{ "c= unknown", REQ "; c=fancy/simple", DKIM_PARSE_INVALID,
		  "unknown canonicalization in c=" },
		{ "c= header part only", REQ "; c=relaxed", DKIM_PARSE_OK, "" },
		{ "q= other method", REQ "; q=http/well-known", DKIM_PARSE_INVALID,
		  "q= names no known query method" },
		{ "q= with dns/txt", REQ "; q=foo:dns/txt", DKIM_PARSE_OK, "" },
		{ "l= not a number", REQ "; l=12a", DKIM_PARSE_INVALID, "bad l=" },
		{ "x= before t=", REQ "; t=1000; x=999", DKIM_PARSE_INVALID, "x= is before t=" },
		{ "x= equal to t=", REQ "; t=1000; x=1000", DKIM_PARSE_OK, "" },
		{ "t= not a number", REQ "; t=-5", DKIM_PARSE_INVALID, "bad t=" },
		{ "b= not base64", "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; " BH " b=AA!A",
		  DKIM_PARSE_INVALID, "b= is not base64" },
		{ "bh= of SHA-1 length",
		  "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; "
		  "bh=2jmj7l5rSw0yVb/vlWAYkK/YBwk=; "
		  "b=AAAA",
		  DKIM_PARSE_INVALID, "bh= is not a SHA-256 hash" },
		{ "d= not a domain",
		  "v=1; a=rsa-sha256; d=exa mple.com; s=sel; h=from; " BH " b=AAAA",
		  DKIM_PARSE_INVALID, "d= is not a domain name" },
		{ "s= with a slash",
		  "v=1; a=rsa-sha256; d=example.com; s=a/b; h=from; " BH " b=AAAA",
		  DKIM_PARSE_INVALID, "s= is not a selector" },
		{ "tag given twice", REQ "; s=other", DKIM_PARSE_SYNTAX,
		  "tag list syntax: s= given twice" },
		{ "not a tag list", "hello world", DKIM_PARSE_SYNTAX, "tag list syntax: no \"=\"" },
		{ "empty tag-spec", "v=1;; a=rsa-sha256", DKIM_PARSE_SYNTAX,
		  "tag list syntax: tag name expected" },
		{ "8-bit value", REQ "; z=caf\xc3\xa9", DKIM_PARSE_SYNTAX,
		  "tag list syntax: bad character in z=" },
		{ "unknown tags ignored", REQ "; zz=1; x_y=2", DKIM_PARSE_OK, "" },
		{ "tag names are case-sensitive", REQ "; V=2", DKIM_PARSE_OK, "" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct dkim_sig sig;
		struct buf reason = BUF_INIT;
		enum dkim_parse st =
		    dkim_sig_parse(cases[i].value, strlen(cases[i].value), &sig, &reason);
		if (st != cases[i].parse ||
		    strncmp(buf_str(&reason), cases[i].reason, strlen(cases[i].reason)) != 0)
			fail_msg("%s: got %d \"%s\", expected %d \"%s\"", cases[i].what, st,
			         buf_str(&reason), cases[i].parse, cases[i].reason);
		dkim_sig_free(&sig);
		buf_free(&reason);
	}
}

static void
too_many_tags_is_a_syntax_error(void **state)
{
	struct buf value = BUF_INIT, reason = BUF_INIT;
	struct dkim_sig sig;

	(void)state;
	buf_puts(&value, REQ);
	for (int i = 0; i < 100; i++)
		buf_printf(&value, "; t%d=x", i);
	assert_int_equal(dkim_sig_parse(value.data, value.len, &sig, &reason), DKIM_PARSE_SYNTAX);
	assert_string_equal(buf_str(&reason), "tag list syntax: more than 64 tags");
	dkim_sig_free(&sig);
	buf_free(&value);
	buf_free(&reason);
}

static void
bad_tags_give_permerror_or_neutral_with_names(void **state)
{
	struct dns_resolver *dns = resolver_with_keys();
	char *sigs[] = {
		"v=1; a=rsa-sha512; d=example.com; s=rsa; h=from; " BH " b=abcdefghijkl",
		"v=1; a=rsa-sha256; a=rsa-sha256",
	};
	struct dkim_verify *v;
	const struct dkim_result *r;
	struct msg m;

	(void)state;
	msg_base(&m);
	v = verify(dns, NULL, sigs, 2, &m, 0, NOW);
	assert_int_equal(dkim_verify_results(v, &r), 2);
	assert_int_equal(r[0].verdict, DKIM_PERMERROR);
	assert_string_equal(r[0].reason, "unknown algorithm");
	assert_string_equal(r[0].domain, "example.com");
	assert_string_equal(r[0].selector, "rsa");
	assert_string_equal(r[0].algorithm, "rsa-sha512");
	assert_string_equal(r[0].b_prefix, "abcdefgh");
	assert_string_equal(r[0].identity, "@example.com");
	assert_int_equal(r[1].verdict, DKIM_NEUTRAL);
	assert_null(r[1].domain);
	assert_int_equal(dns_static_lookups(dns), 0);
	assert_int_equal(dkim_verify_body_hashes(v), 0);
	dkim_verify_free(v);
	msg_free(&m);
	dns_resolver_free(dns);
}

static void
rsa_sha1_is_refused_even_when_correct(void **state)
{
	struct dns_resolver *dns = resolver_with_keys();
	struct msg m;
	struct buf tags = BUF_INIT;
	unsigned char bh[20];
	unsigned int n = sizeof(bh);
	char *sig, *got;

	(void)state;
	msg_base(&m);
	buf_reset(&m.body); /* its simple canonical form is itself */
	buf_puts(&m.body, "Hi Bob,\r\nlunch?\r\n");
	EVP_Digest(m.body.data, m.body.len, bh, &n, EVP_sha1(), NULL);
	buf_puts(&tags,
	         "v=1; a=rsa-sha1; c=simple/simple; d=example.com; s=rsa; h=from:subject; bh=");
	base64(bh, sizeof(bh), &tags);
	buf_puts(&tags, "; b=");
	sig = hand_sign(&rsa2048, EVP_sha1(), DKIM_CANON_SIMPLE, "from:subject", tags.data, &m);
	got = verify_one(dns, NULL, sig, &m);
	assert_verdict("rsa-sha1", got, "permerror (rsa-sha1 is not accepted (RFC 8301))");
	assert_int_equal(dns_static_lookups(dns), 0);
	free(got);
	free(sig);
	buf_free(&tags);
	msg_free(&m);
	dns_resolver_free(dns);
}

static void
length_limit_is_reported_or_refused(void **state)
{
	struct dns_resolver *dns = resolver_with_keys();
	struct dkim_verify_options opt;
	struct dkim_verify *v;
	const struct dkim_result *r;
	struct msg m;
	char *sig, *got, extra[32], reason[64];
	uint64_t length;

	(void)state;
	msg_base(&m);
	/* Sign the first 20 canonical bytes; then a list appends a footer. */
	snprintf(extra, sizeof(extra), "l=20; ");
	sig = hand_signed(&rsa2048, "rsa", extra, &m, 20);
	buf_puts(&m.body, "Appended by a list or by an attacker.\r\n");
	length = canonical_length(&m, DKIM_CANON_RELAXED);
	v = verify(dns, NULL, &sig, 1, &m, 3, NOW);
	assert_int_equal(dkim_verify_results(v, &r), 1);
	assert_int_equal(r->verdict, DKIM_PASS);
	assert_true(r->has_l);
	assert_int_equal(r->l, 20);
	assert_int_equal(r->unsigned_length, length - 20);
	snprintf(reason, sizeof(reason), "l=20, %llu body bytes unsigned",
	         (unsigned long long)(length - 20));
	assert_string_equal(r->reason, reason);
	dkim_verify_free(v);

	dkim_verify_options_default(&opt);
	opt.length_policy = DKIM_LENGTH_REFUSE;
	got = verify_one(dns, &opt, sig, &m);
	assert_verdict("l= refused", got, "policy (l= body length limits are not accepted)");
	free(got);
	free(sig);
	msg_free(&m);

	msg_base(&m);
	snprintf(extra, sizeof(extra), "l=4000; ");
	sig = hand_signed(&rsa2048, "rsa", extra, &m, 4000);
	got = verify_one(dns, NULL, sig, &m);
	assert_verdict("l= beyond the body", got, "fail (l= is longer than the body)");
	free(got);

	/* l= and no l= with the same c=: two body hashes. */
	char *sigs[2] = { sig,
		          sign(&ed25519, "ed", &m, DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED, NOW, 0) };
	v = verify(dns, NULL, sigs, 2, &m, 0, NOW);
	assert_int_equal(dkim_verify_body_hashes(v), 2);
	dkim_verify_free(v);
	free(sigs[1]);
	free(sig);
	msg_free(&m);
	dns_resolver_free(dns);
}

static void
dns_trouble_is_temperror_and_no_key_permerror(void **state)
{
	struct dns_resolver *dns = dns_static_new();
	struct dns_budget spent = { .deadline_us = 0 };
	struct dkim_verify *v;
	const struct dkim_result *r;
	struct msg m;
	char *sig, *got;

	(void)state;
	msg_base(&m);
	sig = sign(&rsa2048, "rsa", &m, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, NOW, 0);
	dns_static_fail(dns, "rsa._domainkey.example.com", DNS_T_TXT);
	got = verify_one(dns, NULL, sig, &m);
	assert_verdict("SERVFAIL", got, "temperror (key lookup failed: SERVFAIL");
	free(got);
	dns_resolver_free(dns);

	dns = dns_static_new();
	got = verify_one(dns, NULL, sig, &m);
	assert_verdict("NXDOMAIN", got, "permerror (no key (nxdomain))");
	free(got);
	dns_static_addr(dns, "rsa._domainkey.example.com", "192.0.2.1");
	got = verify_one(dns, NULL, sig, &m);
	assert_verdict("NODATA", got, "permerror (no key (nodata))");
	free(got);
	publish(dns, "rsa", &rsa2048, NULL);

	/* A spent message budget is a temporary failure too. */
	v = dkim_verify_new(NULL);
	dkim_verify_header(v, "DKIM-Signature", sig);
	for (size_t i = 0; i < m.n; i++)
		dkim_verify_header(v, m.h[i].name, m.h[i].value);
	dkim_verify_body(v, (const unsigned char *)m.body.data, m.body.len);
	dkim_verify_finish(v, dns, &spent, NOW);
	assert_int_equal(dkim_verify_results(v, &r), 1);
	assert_int_equal(r->verdict, DKIM_TEMPERROR);
	assert_string_equal(r->reason, "key lookup failed: DNS time budget spent");
	dkim_verify_free(v);
	free(sig);
	msg_free(&m);
	dns_resolver_free(dns);
}

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n signatures with selectors s0..s(n-1) (or all "rsa"), b= of junk. */
static void
many_signatures(struct dkim_verify *v, size_t n, bool same_selector)
{
	for (size_t i = 0; i < n; i++) {
		char *value = xasprintf("v=1; a=rsa-sha256; d=example.com; s=%s%zu; h=from; " BH
		                        " b=AAAAAAAAAAAA",
		                        same_selector ? "rsa" : "s", same_selector ? 0 : i);
		dkim_verify_header(v, "DKIM-Signature", value);
		free(value);
	}
}

static void
thousand_signatures_cost_at_most_the_cap(void **state)
{
	static const size_t counts[] = { 500, 1000 };
	struct msg m;

	(void)state;
	msg_base(&m);
	for (size_t c = 0; c < ARRAY_LEN(counts); c++) {
		for (int same = 0; same < 2; same++) {
			struct dns_resolver *dns = resolver_with_keys();
			struct dkim_verify *v = dkim_verify_new(NULL);
			const struct dkim_result *r;
			double t0 = cpu_seconds();
			many_signatures(v, counts[c], same);
			for (size_t i = 0; i < m.n; i++)
				dkim_verify_header(v, m.h[i].name, m.h[i].value);
			dkim_verify_body(v, (const unsigned char *)m.body.data, m.body.len);
			dkim_verify_finish(v, dns, NULL, NOW);
			assert_int_equal(dkim_verify_results(v, &r), DKIM_VERIFY_MAX_SIGNATURES);
			assert_int_equal(dkim_verify_skipped(v),
			                 counts[c] - DKIM_VERIFY_MAX_SIGNATURES);
			assert_int_equal(dns_static_lookups(dns),
			                 same ? 1 : DKIM_VERIFY_MAX_SIGNATURES);
			assert_int_equal(dkim_verify_body_hashes(v), 1);
			for (size_t i = 0; i < DKIM_VERIFY_MAX_SIGNATURES; i++)
				assert_int_not_equal(r[i].verdict, DKIM_PASS);
			printf("# %zu signatures (%s selector): %.2f ms CPU, %u lookups\n",
			       counts[c], same ? "one" : "distinct", (cpu_seconds() - t0) * 1e3,
			       dns_static_lookups(dns));
			dkim_verify_free(v);
			dns_resolver_free(dns);
		}
	}
	msg_free(&m);
}

/*
 * Header work is linear: 20000 Received fields and five signatures whose
 * h= names Received 20000 times each (a 1 MB header) take milliseconds.
 */
static void
huge_h_lists_stay_linear(void **state)
{
	enum { FIELDS = 20000 };
	struct dns_resolver *dns = resolver_with_keys();
	struct dkim_verify *v = dkim_verify_new(NULL);
	struct buf value = BUF_INIT;
	const struct dkim_result *r;
	struct msg m;
	double t0;

	(void)state;
	msg_base(&m);
	/* bh= is the hash of an empty relaxed body: only the header hash fails. */
	buf_puts(&value, "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=rsa; " BH
	                 " b=AAAA; h=from");
	for (int i = 0; i < FIELDS; i++)
		buf_puts(&value, ":received");
	t0 = cpu_seconds();
	for (int i = 0; i < 5; i++)
		dkim_verify_header(v, "DKIM-Signature", value.data);
	for (int i = 0; i < FIELDS; i++)
		dkim_verify_header(v, "Received", " from a.example by b.example; Mon, 1 Jan 2026");
	for (size_t i = 0; i < m.n; i++)
		dkim_verify_header(v, m.h[i].name, m.h[i].value);
	dkim_verify_finish(v, dns, NULL, NOW);
	assert_int_equal(dkim_verify_results(v, &r), 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(r[i].verdict, DKIM_FAIL); /* b= is junk */
		assert_string_equal(r[i].reason, "signature mismatch");
	}
	printf("# 5 signatures x h= of %d names over %d fields (%zu KB header): %.1f ms CPU\n",
	       FIELDS, FIELDS, (5 * value.len + FIELDS * 50) / 1024, (cpu_seconds() - t0) * 1e3);
	dkim_verify_free(v);
	buf_free(&value);
	msg_free(&m);
	dns_resolver_free(dns);
}

/* ------------------------------------------------- RFC 8463 appendix A */

#define RFC8463_ED25519 "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RFC8463_RSA                                                                                \
	"v=DKIM1; k=rsa; "                                                                         \
	"p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5q"                \
	"hdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/"                              \
	"8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4h"                                                           \
	"stT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

/* The file tests/data/rfc8463-a3.eml, split as an MTA hands it to a milter. */
static void
rfc8463_message(struct msg *m, char *sigs[2])
{
	const char *top = getenv("TOP_SRCDIR");
	char path[4096], line[4096];
	size_t nsig = 0;
	bool in_body = false;
	FILE *f;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "%s/tests/data/rfc8463-a3.eml", top ? top : ".");
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("%s: cannot open", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		if (in_body) {
			buf_append(&m->body, line, len);
			continue;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0) {
			in_body = true;
		} else if (line[0] == ' ' || line[0] == '\t') {
			char *joined = xasprintf("%s\n%s", m->h[m->n - 1].value, line);
			free(m->h[m->n - 1].value);
			m->h[m->n - 1].value = joined;
		} else {
			char *colon = strchr(line, ':');
			*colon = '\0';
			msg_add(m, line, colon + 1);
		}
	}
	fclose(f);
	/* The two signatures lead (the caller frees them); the rest are the message's. */
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->h[i].name, "DKIM-Signature") == 0) {
			sigs[nsig++] = m->h[i].value;
			free(m->h[i].name);
		}
	}
	assert_int_equal(nsig, 2);
	memmove(m->h, m->h + 2, (m->n - 2) * sizeof(m->h[0]));
	m->n -= 2;
}

static struct dns_resolver *
rfc8463_keys(void)
{
	struct dns_resolver *dns = dns_static_new();

	dns_static_txt(dns, "brisbane._domainkey.football.example.com", RFC8463_ED25519);
	dns_static_txt(dns, "test._domainkey.football.example.com", RFC8463_RSA);
	return dns;
}

static void
rfc8463_example_verifies_with_its_published_keys(void **state)
{
	struct dns_resolver *dns = rfc8463_keys();
	struct dkim_verify *v;
	const struct dkim_result *r;
	struct msg m;
	char *sigs[2];

	(void)state;
	rfc8463_message(&m, sigs);
	for (size_t chunk = 0; chunk < 40; chunk += 13) {
		v = verify(dns, NULL, sigs, 2, &m, chunk, NOW);
		assert_int_equal(dkim_verify_results(v, &r), 2);
		for (int i = 0; i < 2; i++) {
			if (r[i].verdict != DKIM_PASS)
				fail_msg("signature %d: %s (%s)", i,
				         dkim_verdict_name(r[i].verdict), r[i].reason);
		}
		assert_string_equal(r[0].selector, "brisbane");
		assert_string_equal(r[0].algorithm, "ed25519-sha256");
		assert_string_equal(r[0].b_prefix, "/gCrinpc");
		assert_int_equal(r[0].key_bits, 256);
		assert_string_equal(r[1].selector, "test");
		assert_string_equal(r[1].identity, "@football.example.com");
		assert_string_equal(r[1].b_prefix, "F45dVWDf");
		assert_int_equal(r[1].key_bits, 1024);
		assert_int_equal(dkim_verify_body_hashes(v), 1);
		dkim_verify_free(v);
	}
	/* Tampered: the body, then a signed field. */
	char *hungry = strstr(m.body.data, "hungry");
	hungry[0] = 'H';
	v = verify(dns, NULL, sigs, 2, &m, 0, NOW);
	assert_int_equal(dkim_verify_results(v, &r), 2);
	assert_int_equal(r[0].verdict, DKIM_FAIL);
	assert_string_equal(r[0].reason, "body hash mismatch");
	assert_int_equal(r[1].verdict, DKIM_FAIL);
	dkim_verify_free(v);
	hungry[0] = 'h';
	msg_set(&m, "Subject", " Is lunch ready?");
	v = verify(dns, NULL, sigs, 2, &m, 0, NOW);
	assert_int_equal(dkim_verify_results(v, &r), 2);
	assert_string_equal(r[0].reason, "signature mismatch");
	assert_string_equal(r[1].reason, "signature mismatch");
	dkim_verify_free(v);
	/* 1024 bits are below a stricter floor. */
	struct dkim_verify_options opt;
	dkim_verify_options_default(&opt);
	opt.min_rsa_bits = 2048;
	msg_set(&m, "Subject", " Is dinner ready?");
	v = verify(dns, &opt, sigs, 2, &m, 0, NOW);
	assert_int_equal(dkim_verify_results(v, &r), 2);
	assert_int_equal(r[0].verdict, DKIM_PASS);
	assert_int_equal(r[1].verdict, DKIM_POLICY);
	dkim_verify_free(v);
	free(sigs[0]);
	free(sigs[1]);
	msg_free(&m);
	dns_resolver_free(dns);
}

/* ------------------------------------------------------------- timing */

/* A 3 KB message signed with RSA-2048 (or Ed25519), verified n times over. */
static void
time_verifications(const struct dkim_key *key, const char *selector, int n)
{
	struct dns_resolver *dns = resolver_with_keys();
	struct msg m;
	char *sig;
	double t0;
	size_t size;

	msg_base(&m);
	buf_reset(&m.body);
	while (m.body.len < 2600)
		buf_puts(&m.body,
		         "The quick brown fox jumps over the lazy dog, again and again.\r\n");
	sig = sign(key, selector, &m, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, NOW, 0);
	size = m.body.len + strlen("DKIM-Signature:\r\n") + strlen(sig);
	for (size_t i = 0; i < m.n; i++)
		size += strlen(m.h[i].name) + strlen(m.h[i].value) + 3;
	t0 = cpu_seconds();
	for (int i = 0; i < n; i++) {
		struct dkim_verify *v = verify(dns, NULL, &sig, 1, &m, 0, NOW);
		const struct dkim_result *r;
		dkim_verify_results(v, &r);
		if (r->verdict != DKIM_PASS)
			fail_msg("iteration %d: %s", i, r->reason);
		dkim_verify_free(v);
	}
	printf("# %d verifications of a %zu-byte %s-signed message: %.1f us CPU each\n", n, size,
	       dkim_alg_name(key->alg), (cpu_seconds() - t0) * 1e6 / n);
	free(sig);
	msg_free(&m);
	dns_resolver_free(dns);
}

static void
cpu_per_verification(void **state)
{
	const char *env = getenv("MW_DKIM_VERIFY_LOOPS");
	int n = env ? atoi(env) : 10000;

	(void)state;
	time_verifications(&rsa2048, "rsa", n);
	time_verifications(&ed25519, "ed", n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(own_signatures_pass_in_every_canonicalization_and_chunking),
		cmocka_unit_test(dual_signature_passes_both_with_one_body_hash),
		cmocka_unit_test(rfc8463_example_verifies_with_its_published_keys),
		cmocka_unit_test(tampered_messages_fail),
		cmocka_unit_test(expired_signature_is_permerror),
		cmocka_unit_test(short_rsa_key_is_policy_unless_allowed),
		cmocka_unit_test(key_records_decide),
		cmocka_unit_test(key_flags_testing_and_strict),
		cmocka_unit_test(signature_tags_are_checked),
		cmocka_unit_test(too_many_tags_is_a_syntax_error),
		cmocka_unit_test(bad_tags_give_permerror_or_neutral_with_names),
		cmocka_unit_test(rsa_sha1_is_refused_even_when_correct),
		cmocka_unit_test(length_limit_is_reported_or_refused),
		cmocka_unit_test(dns_trouble_is_temperror_and_no_key_permerror),
		cmocka_unit_test(thousand_signatures_cost_at_most_the_cap),
		cmocka_unit_test(huge_h_lists_stay_linear),
		cmocka_unit_test(cpu_per_verification),
	};
	return cmocka_run_group_tests_name("dkim_verify", tests, setup, teardown);
}
