/*
 * dkim_sign - keys and DKIM-Signature header fields; see dkim_sign.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/dkim_sign.h"
#include "common/secret_file.h"
#include "common/xalloc.h"

const char *const dkim_default_sign_headers[] = {
	"From",
	"Reply-To",
	"Subject",
	"Date",
	"To",
	"Cc",
	"Message-ID",
	"In-Reply-To",
	"References",
	"MIME-Version",
	"Content-Type",
	"Content-Transfer-Encoding",
	"List-Id",
	"List-Unsubscribe",
	"List-Unsubscribe-Post",
	"List-Help",
	"List-Post",
	"List-Owner",
	"List-Archive",
	"Feedback-ID",
	"Sender",
	NULL,
};

const char *const dkim_default_oversign_headers[] = {
	"From",
	"Subject",
	"Date",
	"To",
	"Cc",
	"Reply-To",
	"List-Unsubscribe",
	"List-Unsubscribe-Post",
	NULL,
};

const char *
dkim_alg_name(enum dkim_alg alg)
{
	return alg == DKIM_ALG_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

static const char *
openssl_reason(void)
{
	unsigned long e = ERR_get_error();

	ERR_clear_error();
	return e ? ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown error"
	         : "not a PEM private key";
}

int
dkim_key_load(const char *path, enum dkim_alg alg, struct dkim_key *key, struct buf *err)
{
	FILE *f;
	int type, fd;

	memset(key, 0, sizeof(*key));
	if ((fd = secret_file_open(path, "private key", err)) < 0)
		return -1;
	if ((f = fdopen(fd, "r")) == NULL) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	key->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key->pkey == NULL) {
		buf_printf(err, "%s: %s", path, openssl_reason());
		return -1;
	}
	type = EVP_PKEY_get_base_id(key->pkey);
	key->alg = alg;
	key->bits = EVP_PKEY_get_bits(key->pkey);
	if (alg == DKIM_ALG_RSA_SHA256 && type != EVP_PKEY_RSA) {
		buf_printf(err, "%s: algorithm rsa-sha256 needs an RSA key", path);
		dkim_key_free(key);
		return -1;
	}
	if (alg == DKIM_ALG_ED25519_SHA256 && type != EVP_PKEY_ED25519) {
		buf_printf(err, "%s: algorithm ed25519-sha256 needs an Ed25519 key", path);
		dkim_key_free(key);
		return -1;
	}
	if (alg == DKIM_ALG_RSA_SHA256 && key->bits < 1024) {
		buf_printf(err, "%s: a %d-bit RSA key is too weak (RFC 8301: at least 1024)", path,
		           key->bits);
		dkim_key_free(key);
		return -1;
	}
	return 0;
}

void
dkim_key_free(struct dkim_key *key)
{
	EVP_PKEY_free(key->pkey);
	key->pkey = NULL;
}

static void
base64_append(struct buf *out, const unsigned char *data, size_t len)
{
	size_t size = 4 * ((len + 2) / 3) + 1;
	char *text = xmalloc(size);

	EVP_EncodeBlock((unsigned char *)text, data, (int)len);
	buf_puts(out, text);
	free(text);
}

int
dkim_key_public_record(const struct dkim_key *key, struct buf *out)
{
	unsigned char *der = NULL;
	int len;

	if (key->alg == DKIM_ALG_ED25519_SHA256) {
		unsigned char raw[32];
		size_t rawlen = sizeof(raw);
		if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &rawlen) != 1)
			return -1;
		base64_append(out, raw, rawlen);
		return 0;
	}
	len = i2d_PUBKEY(key->pkey, &der);
	if (len <= 0)
		return -1;
	base64_append(out, der, (size_t)len);
	OPENSSL_free(der);
	return 0;
}

static bool
name_in(const char *const *names, const char *name)
{
	for (size_t i = 0; names != NULL && names[i] != NULL; i++)
		if (strcasecmp(names[i], name) == 0)
			return true;
	return false;
}

/* The h= list: each signed name once per instance, oversigned ones once more. */
static void
build_h_list(const struct dkim_sig_params *p, const struct header *headers, size_t count,
             struct buf *names, size_t *entries)
{
	*entries = 0;
	for (size_t i = 0; p->sign_headers[i] != NULL; i++) {
		const char *name = p->sign_headers[i];
		size_t n = 0;
		for (size_t j = 0; j < count; j++)
			n += strcasecmp(headers[j].name, name) == 0;
		if (name_in(p->oversign_headers, name))
			n++;
		for (size_t k = 0; k < n; k++) {
			buf_printf(names, "%s%s", *entries ? ":" : "", name);
			(*entries)++;
		}
	}
}

/*
 * Canonical signed headers, in h= order: each name takes the next unused
 * instance from the bottom (RFC 6376 5.4.2); an oversigned name finds none.
 */
static void
hash_input_headers(const struct dkim_sig_params *p, const struct header *headers, size_t count,
                   struct buf *input)
{
	bool *used = xcalloc(count + 1, sizeof(bool));

	for (size_t i = 0; p->sign_headers[i] != NULL; i++) {
		const char *name = p->sign_headers[i];
		for (size_t j = count; j-- > 0;) {
			if (!used[j] && strcasecmp(headers[j].name, name) == 0) {
				used[j] = true;
				dkim_canon_header(p->header_canon, headers[j].name,
				                  headers[j].value, input, true);
			}
		}
	}
	free(used);
}

/* Fold a long tag list value at ':' so lines stay readable. */
static void
append_folded_h(struct buf *out, const char *names, size_t column)
{
	for (const char *p = names; *p;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) + 1 : strlen(p);
		if (column + len > 76) {
			buf_puts(out, "\r\n\t ");
			column = 9;
		}
		buf_append(out, p, len);
		column += len;
		p += len;
	}
}

static int
sign_digest(const struct dkim_key *key, const unsigned char digest[32], unsigned char *sig,
            size_t *siglen)
{
	int ok = 0;

	if (key->alg == DKIM_ALG_ED25519_SHA256) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		ok = md != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL, key->pkey) == 1 &&
		     EVP_DigestSign(md, sig, siglen, digest, 32) == 1;
		EVP_MD_CTX_free(md);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key->pkey, NULL);
		ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		     EVP_PKEY_sign(ctx, sig, siglen, digest, 32) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	return ok ? 0 : -1;
}

/* Replace "\r\n" by "\n": libmilter wants header values with bare LFs. */
static void
to_milter_folding(const struct buf *in, struct buf *out)
{
	for (size_t i = 0; i < in->len; i++)
		if (!(in->data[i] == '\r' && i + 1 < in->len && in->data[i + 1] == '\n'))
			buf_append(out, &in->data[i], 1);
}

int
dkim_signature(const struct dkim_key *key, const struct dkim_sig_params *p,
               const struct header *headers, size_t count, const unsigned char bh[32],
               struct buf *value, struct buf *err)
{
	static const char *const canon_names[] = { "simple", "relaxed" };
	struct buf tags = BUF_INIT, names = BUF_INIT, input = BUF_INIT;
	unsigned char digest[32], sig[1024];
	size_t entries, siglen = sizeof(sig);
	unsigned int dlen;
	int result = -1;

	build_h_list(p, headers, count, &names, &entries);
	buf_printf(&tags, " v=1; a=%s; c=%s/%s; d=%s; s=%s;\r\n\tt=%lld;", dkim_alg_name(key->alg),
	           canon_names[p->header_canon], canon_names[p->body_canon], p->domain, p->selector,
	           (long long)p->timestamp);
	if (p->expire_after > 0)
		buf_printf(&tags, " x=%lld;", (long long)(p->timestamp + p->expire_after));
	buf_puts(&tags, " h=");
	append_folded_h(&tags, buf_str(&names), 24);
	buf_puts(&tags, ";\r\n\tbh=");
	base64_append(&tags, bh, 32);
	buf_puts(&tags, ";\r\n\tb=");

	hash_input_headers(p, headers, count, &input);
	dkim_canon_header(p->header_canon, "DKIM-Signature", buf_str(&tags), &input, false);
	if (EVP_Digest(input.data, input.len, digest, &dlen, EVP_sha256(), NULL) != 1 ||
	    sign_digest(key, digest, sig, &siglen) < 0) {
		buf_printf(err, "signing with %s for d=%s s=%s failed: %s", dkim_alg_name(key->alg),
		           p->domain, p->selector, openssl_reason());
		goto done;
	}
	struct buf b64 = BUF_INIT;
	base64_append(&b64, sig, siglen);
	for (size_t i = 0; i < b64.len; i += 72) {
		if (i > 0)
			buf_puts(&tags, "\r\n\t ");
		buf_append(&tags, b64.data + i, b64.len - i < 72 ? b64.len - i : 72);
	}
	buf_free(&b64);
	to_milter_folding(&tags, value);
	result = 0;
done:
	buf_free(&tags);
	buf_free(&names);
	buf_free(&input);
	return result;
}
