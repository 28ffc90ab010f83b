/*
 * keygen - "mailward keygen": DKIM keys and their DNS records
 *
 *   mailward keygen [-a ALG] [-b BITS] [-o DIR] [-u USER] DOMAIN SELECTOR
 *	Make a private key DIR/DOMAIN.SELECTOR.pem (mode 0600, owned by USER
 *	when run as root; never overwrites) and print the TXT record to
 *	publish and the policy entry that uses the key.
 *   mailward keygen check [-c POLICY]
 *	For every signing-table entry, look the published record up and say
 *	whether it matches the private key.  Exit 0 only when all match.
 */
#include "config.h"

#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <getopt.h>
#include <pwd.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/dkim_sign.h"
#include "common/xalloc.h"
#include "policy/checks.h"
#include "policy/policy.h"
#include "tools/tools.h"

static void
keygen_usage(FILE *out)
{
	fprintf(out,
	        "Usage: mailward keygen [-a ALG] [-b BITS] [-o DIR] [-u USER] DOMAIN SELECTOR\n"
	        "       mailward keygen check [-c POLICY]\n"
	        "\n"
	        "Make a DKIM private key and print the DNS TXT record to publish at\n"
	        "SELECTOR._domainkey.DOMAIN, split into strings of at most 255 bytes,\n"
	        "and the policy entry (domains section) that signs with it.\n"
	        "\n"
	        "  -a ALG    rsa-sha256 (default) or ed25519-sha256\n"
	        "  -b BITS   RSA key size, 1024 to 4096 (default 2048)\n"
	        "  -o DIR    where to write DOMAIN.SELECTOR.pem (default .)\n"
	        "  -u USER   owner of the key when run as root (default mailward)\n"
	        "\n"
	        "\"check\" looks up the record of every signing-table entry of POLICY\n"
	        "(default %s) and says whether it matches the key;\n"
	        "exit status 0 only if every entry matches.\n",
	        MW_DEFAULT_POLICY);
}

/* The TXT record text, in quoted strings of at most 255 bytes. */
static void
print_record(const char *domain, const char *selector, const struct dkim_key *key)
{
	struct buf pub = BUF_INIT, txt = BUF_INIT;

	dkim_key_public_record(key, &pub);
	buf_printf(&txt, "v=DKIM1; k=%s; p=%s",
	           key->alg == DKIM_ALG_ED25519_SHA256 ? "ed25519" : "rsa", buf_str(&pub));
	printf("%s._domainkey.%s. IN TXT (", selector, domain);
	for (size_t i = 0; i < txt.len; i += 255)
		printf(" \"%.*s\"", (int)(txt.len - i < 255 ? txt.len - i : 255), txt.data + i);
	printf(" )\n");
	buf_free(&pub);
	buf_free(&txt);
}

static EVP_PKEY *
generate(enum dkim_alg alg, int bits)
{
	if (alg == DKIM_ALG_ED25519_SHA256)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

/* Write the key to a new file, mode 0600; never replaces an existing key. */
static int
write_key(const char *path, EVP_PKEY *pkey, const char *owner)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0) {
		fprintf(stderr, "mailward keygen: %s: %s\n", path,
		        errno == EEXIST ? "exists; remove it first or pick another selector"
		                        : strerror(errno));
		return -1;
	}
	f = fdopen(fd, "w");
	if (f == NULL || !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) ||
	    fclose(f) != 0) {
		fprintf(stderr, "mailward keygen: cannot write %s\n", path);
		unlink(path);
		return -1;
	}
	if (getuid() == 0 && *owner) {
		struct passwd *pw = getpwnam(owner);
		if (pw == NULL || chown(path, pw->pw_uid, pw->pw_gid) < 0)
			fprintf(stderr, "mailward keygen: warning: %s stays owned by root (%s)\n",
			        path, pw == NULL ? "no such user" : strerror(errno));
	}
	return 0;
}

static int
keygen_make(int argc, char **argv)
{
	const char *alg_name = "rsa-sha256", *dir = ".", *owner = "mailward";
	int bits = 2048, c;
	char err[300], path[4096];

	while ((c = getopt(argc, argv, "a:b:o:u:h")) != -1) {
		switch (c) {
		case 'a':
			alg_name = optarg;
			break;
		case 'b':
			bits = atoi(optarg);
			break;
		case 'o':
			dir = optarg;
			break;
		case 'u':
			owner = optarg;
			break;
		case 'h':
			keygen_usage(stdout);
			return 0;
		default:
			keygen_usage(stderr);
			return EX_USAGE;
		}
	}
	if (argc - optind != 2) {
		keygen_usage(stderr);
		return EX_USAGE;
	}
	const char *domain = argv[optind], *selector = argv[optind + 1];
	enum dkim_alg alg;
	if (strcmp(alg_name, "rsa-sha256") == 0)
		alg = DKIM_ALG_RSA_SHA256;
	else if (strcmp(alg_name, "ed25519-sha256") == 0)
		alg = DKIM_ALG_ED25519_SHA256;
	else {
		fprintf(stderr, "mailward keygen: -a: rsa-sha256 or ed25519-sha256\n");
		return EX_USAGE;
	}
	if (alg == DKIM_ALG_RSA_SHA256 && (bits < 1024 || bits > 4096)) {
		fprintf(stderr, "mailward keygen: -b: RSA keys of 1024 to 4096 bits\n");
		return EX_USAGE;
	}
	if (!check_domain(domain, err, sizeof(err)) || !check_token(selector, err, sizeof(err))) {
		fprintf(stderr, "mailward keygen: %s\n", err);
		return EX_USAGE;
	}
	snprintf(path, sizeof(path), "%s/%s.%s.pem", dir, domain, selector);
	struct dkim_key key = { .pkey = generate(alg, bits), .alg = alg };
	if (key.pkey == NULL || write_key(path, key.pkey, owner) < 0) {
		dkim_key_free(&key);
		return EX_CANTCREAT;
	}
	char *abs = realpath(path, NULL);
	printf("# private key: %s\n# publish:\n", abs ? abs : path);
	print_record(domain, selector, &key);
	printf("# policy (domains section):\n"
	       "  { domain = \"%s\"; selector = \"%s\"; key = \"%s\"; algorithm = \"%s\"; }\n",
	       domain, selector, abs ? abs : path, alg_name);
	free(abs);
	dkim_key_free(&key);
	return 0;
}

/* The p= value of a DKIM record (white space removed), or NULL. */
static char *
record_p_tag(const char *record)
{
	for (const char *p = record; (p = strstr(p, "p=")) != NULL; p += 2) {
		const char *before = p;
		while (before > record && (before[-1] == ' ' || before[-1] == '\t'))
			before--;
		if (before != record && before[-1] != ';')
			continue;
		struct buf value = BUF_INIT;
		buf_append(&value, "", 0);
		for (const char *v = p + 2; *v && *v != ';'; v++)
			if (*v != ' ' && *v != '\t' && *v != '\r' && *v != '\n')
				buf_append(&value, v, 1);
		return value.data;
	}
	return NULL;
}

/* The TXT record at name, strings joined; 0 found, 1 none, -1 DNS failure. */
static int
lookup_txt(const char *name, struct buf *out)
{
	unsigned char answer[8192];
	ns_msg handle;
	ns_rr rr;
	int len = res_query(name, ns_c_in, ns_t_txt, answer, sizeof(answer));

	if (len < 0)
		return h_errno == HOST_NOT_FOUND || h_errno == NO_DATA ? 1 : -1;
	if (ns_initparse(answer, len, &handle) < 0)
		return -1;
	for (int i = 0; i < ns_msg_count(handle, ns_s_an); i++) {
		if (ns_parserr(&handle, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_txt)
			continue;
		const unsigned char *p = ns_rr_rdata(rr), *end = p + ns_rr_rdlen(rr);
		while (p < end && p + 1 + *p <= end) {
			buf_append(out, p + 1, *p);
			p += 1 + *p;
		}
		return 0;
	}
	return 1;
}

static int
keygen_check(int argc, char **argv)
{
	const char *policy_path = MW_DEFAULT_POLICY;
	struct buf errors = BUF_INIT;
	int c, bad = 0;

	while ((c = getopt(argc, argv, "c:h")) != -1) {
		if (c == 'c') {
			policy_path = optarg;
		} else {
			keygen_usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : EX_USAGE;
		}
	}
	struct policy *policy = policy_load(policy_path, &errors);
	if (policy == NULL) {
		fprintf(stderr, "%smailward keygen check: %s refused\n", buf_str(&errors),
		        policy_path);
		return EX_CONFIG;
	}
	res_init();
	for (size_t i = 0; i < policy->domain_count; i++) {
		const struct policy_domain *d = &policy->domains[i];
		const char *domain = strncmp(d->domain, "*.", 2) == 0 ? d->domain + 2 : d->domain;
		char name[600];
		struct buf txt = BUF_INIT, mine = BUF_INIT;
		snprintf(name, sizeof(name), "%s._domainkey.%s", d->selector, domain);
		int found = lookup_txt(name, &txt);
		char *published = found == 0 ? record_p_tag(buf_str(&txt)) : NULL;
		dkim_key_public_record(&d->key, &mine);
		if (found < 0)
			printf("%s: temporary DNS failure, try again\n", name);
		else if (found > 0 || published == NULL)
			printf("%s: not published (publish it with the record keygen printed)\n",
			       name);
		else if (strcmp(published, buf_str(&mine)) != 0)
			printf("%s: MISMATCH: the published key is not the key in %s\n", name,
			       d->key_file);
		else
			printf("%s: ok\n", name);
		bad += found != 0 || published == NULL || strcmp(published, buf_str(&mine)) != 0;
		free(published);
		buf_free(&txt);
		buf_free(&mine);
	}
	policy_release(policy);
	return bad ? 1 : 0;
}

int
keygen_main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "check") == 0)
		return keygen_check(argc - 1, argv + 1);
	return keygen_make(argc, argv);
}
