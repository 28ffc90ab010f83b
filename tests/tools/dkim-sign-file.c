/*
 * dkim-sign-file - sign a message file with mailward's DKIM signer
 *
 * A test driver, not a product tool: lets the verifier tests exercise the
 * signer on any message without an MTA.
 *
 *   dkim-sign-file [-c header/body] [-t OFFSET] [-x SECONDS] -k KEY:ALG:DOMAIN:SELECTOR [-k ...] <
 * in > out
 *
 * Header fields are read as an MTA hands them to a milter that asked for
 * leading spaces (value = everything after the colon, folded lines joined
 * with LF); every signature is computed over the same message and the
 * DKIM-Signature fields are written above it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/dkim_sign.h"
#include "common/xalloc.h"

struct signer {
	struct dkim_key key;
	char *domain;
	char *selector;
};

static void
read_all(FILE *f, struct buf *out)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(out, chunk, n);
}

/* Split the message into header fields and the body (after the blank line). */
static size_t
parse_headers(const struct buf *msg, struct header **headers, size_t *count)
{
	size_t pos = 0;

	*headers = NULL;
	*count = 0;
	while (pos < msg->len) {
		size_t end = pos;
		while (end < msg->len && msg->data[end] != '\n')
			end++;
		size_t len = end - pos;
		if (len > 0 && msg->data[end - 1] == '\r')
			len--;
		if (len == 0)
			return end + 1;
		const char *line = msg->data + pos;
		if ((line[0] == ' ' || line[0] == '\t') && *count > 0) {
			struct header *h = &(*headers)[*count - 1];
			char *joined = xasprintf("%s\n%.*s", h->value, (int)len, line);
			free(h->value);
			h->value = joined;
		} else {
			const char *colon = memchr(line, ':', len);
			if (colon == NULL)
				return pos;
			*headers = xreallocarray(*headers, *count + 1, sizeof(struct header));
			(*headers)[*count].name = xstrndup(line, (size_t)(colon - line));
			(*headers)[*count].value =
			    xstrndup(colon + 1, len - (size_t)(colon - line) - 1);
			(*count)++;
		}
		pos = end + 1;
	}
	return msg->len;
}

int
main(int argc, char **argv)
{
	struct signer signers[8];
	size_t nsigners = 0;
	enum dkim_canon hc = DKIM_CANON_RELAXED, bc = DKIM_CANON_RELAXED;
	long expire = 0;
	time_t stamp = time(NULL);
	struct buf msg = BUF_INIT, err = BUF_INIT;
	int c;

	while ((c = getopt(argc, argv, "c:k:t:x:")) != -1) {
		if (c == 't') {
			stamp += atol(optarg); /* t= relative to now */
		} else if (c == 'x') {
			expire = atol(optarg);
		} else if (c == 'c') {
			hc = strncmp(optarg, "simple", 6) == 0 ? DKIM_CANON_SIMPLE
			                                       : DKIM_CANON_RELAXED;
			const char *slash = strchr(optarg, '/');
			bc = slash && strcmp(slash + 1, "simple") == 0 ? DKIM_CANON_SIMPLE
			                                               : DKIM_CANON_RELAXED;
		} else if (c == 'k' && nsigners < 8) {
			char *spec = xstrdup(optarg);
			char *path = strtok(spec, ":"), *alg = strtok(NULL, ":");
			struct signer *s = &signers[nsigners];
			s->domain = xstrdup(strtok(NULL, ":"));
			s->selector = xstrdup(strtok(NULL, ":"));
			enum dkim_alg a = strcmp(alg, "ed25519-sha256") == 0
			                      ? DKIM_ALG_ED25519_SHA256
			                      : DKIM_ALG_RSA_SHA256;
			if (dkim_key_load(path, a, &s->key, &err) < 0) {
				fprintf(stderr, "dkim-sign-file: %s\n", buf_str(&err));
				return 2;
			}
			free(spec);
			nsigners++;
		} else {
			fprintf(stderr,
			        "usage: dkim-sign-file [-c hdr/body] -k KEY:ALG:DOMAIN:SEL\n");
			return 2;
		}
	}
	read_all(stdin, &msg);
	struct header *headers;
	size_t count, body_at = parse_headers(&msg, &headers, &count);
	struct dkim_body body[2];
	unsigned char bh[2][32];
	for (int i = 0; i < 2; i++) {
		dkim_body_init(&body[i], (enum dkim_canon)i);
		if (body_at < msg.len)
			dkim_body_update(&body[i], (const unsigned char *)msg.data + body_at,
			                 msg.len - body_at);
		dkim_body_final(&body[i], bh[i]);
		dkim_body_free(&body[i]);
	}
	for (size_t i = 0; i < nsigners; i++) {
		struct dkim_sig_params p = {
			.domain = signers[i].domain,
			.selector = signers[i].selector,
			.header_canon = hc,
			.body_canon = bc,
			.sign_headers = dkim_default_sign_headers,
			.oversign_headers = dkim_default_oversign_headers,
			.timestamp = stamp,
			.expire_after = expire,
		};
		struct buf value = BUF_INIT;
		if (dkim_signature(&signers[i].key, &p, headers, count, bh[bc], &value, &err) < 0) {
			fprintf(stderr, "dkim-sign-file: %s\n", buf_str(&err));
			return 1;
		}
		printf("DKIM-Signature:");
		for (const char *v = buf_str(&value); *v; v++)
			fputs(*v == '\n' ? "\r\n" : (char[]){ *v, 0 }, stdout);
		fputs("\r\n", stdout);
		buf_free(&value);
	}
	fwrite(msg.data, 1, msg.len, stdout);
	return 0;
}
