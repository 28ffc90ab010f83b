/*
 * fuzz_spf - SPF records, their terms and macro expansion
 *
 * The input is a zone (fuzz.h: "example.com TXT v=spf1 ...", A, MX, PTR
 * records the mechanisms ask for), "%%", then one line
 * "CLIENT-IP MAIL-FROM HELO" (missing words take defaults).  Both
 * identities are checked and a Received-SPF field written, so exp=
 * explanations and every macro letter are reached.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/spf.h"
#include "tests/fuzz/fuzz.h"

/* Fixed, so %{t} and the outcome do not depend on the clock. */
#define FUZZ_NOW 1767225600

struct request_words {
	struct sockaddr_storage client;
	char *ip, *mail_from, *helo;
};

static void
request_parse(char *line, struct request_words *w)
{
	char *save = NULL;
	struct sockaddr_in *sin = (struct sockaddr_in *)&w->client;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&w->client;

	w->ip = strtok_r(line, " \n", &save);
	w->mail_from = strtok_r(NULL, " \n", &save);
	w->helo = strtok_r(NULL, " \n", &save);
	memset(&w->client, 0, sizeof(w->client));
	if (w->ip != NULL && inet_pton(AF_INET6, w->ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return;
	}
	sin->sin_family = AF_INET;
	if (w->ip == NULL || inet_pton(AF_INET, w->ip, &sin->sin_addr) != 1)
		inet_pton(AF_INET, "192.0.2.1", &sin->sin_addr);
}

static void
check_both(struct dns_resolver *dns, const struct spf_request *req)
{
	struct spf_outcome out = { 0 };
	struct buf field = BUF_INIT;

	spf_check_mail_from(dns, NULL, req, &out);
	spf_received_spf(&field, req, &out);
	if (memchr(field.data, '\n', field.len) != NULL)
		abort(); /* Received-SPF must stay one line */
	spf_outcome_free(&out);
	memset(&out, 0, sizeof(out));
	spf_check_helo(dns, NULL, req, &out);
	spf_outcome_free(&out);
	buf_free(&field);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts parts;
	struct request_words w;

	fuzz_quiet();
	fuzz_split(data, size, 2, &parts);
	if (parts.count == 2) {
		struct dns_resolver *dns = fuzz_zone_load(parts.part[0]);
		request_parse(parts.part[1], &w);
		struct spf_request req = {
			.client = (const struct sockaddr *)&w.client,
			.mail_from = w.mail_from != NULL ? w.mail_from : "user@example.com",
			.helo = w.helo != NULL ? w.helo : "mail.example.com",
			.receiver = "mx.example.org",
			.now = FUZZ_NOW,
		};
		check_both(dns, &req);
		dns_resolver_free(dns);
	}
	fuzz_parts_free(&parts);
	return 0;
}
