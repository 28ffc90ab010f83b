/*
 * sign - DKIM signing of outbound mail; see sign.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/dkim_sign.h"
#include "common/header.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "milter/context.h"
#include "milter/sign.h"
#include "policy/signing.h"

struct sign_state {
	const struct policy_domain *keys[SIGN_MAX_KEYS];
	size_t key_count;
	struct dkim_body body[2]; /* indexed by enum dkim_canon */
	bool body_used[2];
};

struct sign_state *
sign_begin(const struct msg *msg)
{
	struct sign_state *state;
	const char *from = msg->common[COMMON_FROM];
	char *domain = first_address_domain(from);
	const struct policy_domain *keys[SIGN_MAX_KEYS];
	size_t n = policy_signing_keys(msg->policy, domain, msg->stream, keys, SIGN_MAX_KEYS);

	free(domain);
	if (n == 0)
		return NULL;
	state = xcalloc(1, sizeof(*state));
	memcpy(state->keys, keys, n * sizeof(keys[0]));
	state->key_count = n;
	state->body_used[msg->policy->body_canon] = true;
	dkim_body_init(&state->body[msg->policy->body_canon],
	               (enum dkim_canon)msg->policy->body_canon);
	return state;
}

void
sign_body(struct sign_state *state, const unsigned char *data, size_t len)
{
	for (int i = 0; i < 2; i++)
		if (state->body_used[i])
			dkim_body_update(&state->body[i], data, len);
}

void
sign_free(struct sign_state *state)
{
	if (state == NULL)
		return;
	for (int i = 0; i < 2; i++)
		if (state->body_used[i])
			dkim_body_free(&state->body[i]);
	free(state);
}

enum sign_outcome
sign_finish(struct msg *msg, struct buf *done, struct buf *err)
{
	struct sign_state *state = msg->sign;
	const struct policy *p = msg->policy;
	unsigned char bh[32];
	struct buf values[SIGN_MAX_KEYS];

	if (state == NULL)
		return SIGN_NO_KEY;
	dkim_body_final(&state->body[p->body_canon], bh);
	for (size_t i = 0; i < state->key_count; i++) {
		const struct policy_domain *entry = state->keys[i];
		struct dkim_sig_params params = {
			.domain = signing_domain(entry),
			.selector = entry->selector,
			.header_canon = (enum dkim_canon)p->header_canon,
			.body_canon = (enum dkim_canon)p->body_canon,
			.sign_headers = dkim_default_sign_headers,
			.oversign_headers = dkim_default_oversign_headers,
			.timestamp = msg->started.tv_sec,
			.expire_after = p->signature_expire,
		};
		buf_init(&values[i]);
		if (dkim_signature(&entry->key, &params, msg->headers, msg->header_count, bh,
		                   &values[i], err) < 0) {
			for (size_t j = 0; j <= i; j++)
				buf_free(&values[j]);
			return SIGN_FAILED;
		}
	}
	for (size_t i = 0; i < state->key_count; i++) {
		edit_insert_header(msg, "DKIM-Signature", buf_str(&values[i]));
		buf_free(&values[i]);
	}
	for (size_t i = 0; i < state->key_count; i++)
		buf_printf(done, "%s%s/%s/%s", i ? "," : "", signing_domain(state->keys[i]),
		           state->keys[i]->selector, dkim_alg_name(state->keys[i]->key.alg));
	return SIGN_SIGNED;
}

int
sign_add_message_id(struct msg *msg)
{
	unsigned char rnd[9];
	char value[160];
	char *domain;

	if (msg->common[COMMON_MESSAGE_ID] != NULL)
		return 0;
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -1;
	/* Only now: the early returns above must not leak it. */
	domain = first_address_domain(msg->common[COMMON_FROM]);
	snprintf(value, sizeof(value), " <%lld.%02x%02x%02x%02x%02x%02x%02x%02x%02x@%s>",
	         (long long)msg->started.tv_sec, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
	         rnd[6], rnd[7], rnd[8], domain ? domain : "mailward.invalid");
	free(domain);
	/*
	 * Spelled as Sendmail's cf spells its own (H?M?Message-Id): Sendmail
	 * gives a milter's header the name of the default it replaces, and
	 * simple header canonicalization sees the difference.
	 */
	edit_add_header(msg, "Message-Id", value);
	msg_add_header(msg, "Message-Id", value);
	return 0;
}

int
sign_add_date(struct msg *msg)
{
	char value[64];
	struct tm tm;

	if (msg->common[COMMON_DATE] != NULL)
		return 0;
	if (gmtime_r(&msg->started.tv_sec, &tm) == NULL ||
	    strftime(value, sizeof(value), " %a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		return -1;
	edit_add_header(msg, "Date", value);
	msg_add_header(msg, "Date", value);
	return 0;
}
