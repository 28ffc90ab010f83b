/*
 * dns_unbound - the production resolver: libunbound, one cache for every
 * thread; see dns.h.
 *
 * Where questions go (fixed when the resolver is made):
 *   - cfg->nameservers ("ADDR" or "ADDR@PORT"): forwarders for every name;
 *   - none: the nameservers of /etc/resolv.conf, and when it lists none,
 *     full recursion from the root servers;
 *   - cfg->zones: a forward zone each, so a zone's names go to its own
 *     servers (recursive or authoritative ones: both answer a forwarded
 *     question), whatever the rest uses.  With DNSSEC on, these zones are
 *     treated as unsigned (a private view of a name cannot validate
 *     against its public parent).
 * Forwarders on loopback are allowed (do-not-query-localhost: no).  With
 * cfg->dnssec, answers are validated with the trust anchors of
 * cfg->trust_anchor_file (DS or DNSKEY records, read once, never written);
 * a bogus answer is TEMPFAIL "DNSSEC bogus".  Without it the validator is
 * not loaded at all.  /etc/hosts is never read.  A forward zone also
 * replaces unbound's built-in answer for that name (test., onion.,
 * 10.in-addr.arpa...: "local-zone transparent"); the rest keep them.
 *
 * Answers.  RCODE NOERROR with records: FOUND (records in the servers'
 * order: rrset-roundrobin off); without: NODATA; NXDOMAIN: NXDOMAIN, and
 * so is a name DNS cannot carry (an empty or 64-byte label: asking again
 * would not help).  TEMPFAIL reasons: "timeout", "SERVFAIL", "REFUSED",
 * "rcode N", "DNSSEC bogus", "malformed record" (rdata that does not fit
 * its type), "resolver failed" (unbound's thread is gone) or libunbound's
 * error text.
 *
 * Concurrency.  One ub_ctx in threaded async mode: libunbound's own
 * background thread does every query and keeps the cache; lookups hand it
 * questions (ub_resolve_async) and its answers come back through one file
 * descriptor, ub_fd.  Whoever calls ub_process() runs the callbacks of
 * every answer queued there, whichever thread asked.  So the waiting
 * threads take turns (leader/follower): at most one, the poller, waits in
 * poll(2) on ub_fd and runs ub_process(); the others sleep on their own
 * condition variable until their answer is in, their time is up, or the
 * poller leaves and hands the fd over to the first of them.  No thread
 * or pipe is made per lookup: a cached answer costs two pipe messages.
 *
 * A lookup that reaches its time limit is cancelled (ub_cancel): unbound
 * may keep retrying in the background, but the caller has its TEMPFAIL
 * "timeout" now.  ub_cancel either succeeds, and then the callback never
 * runs, or fails because another thread is running the callback at that
 * moment, and then the lookup waits the few microseconds for it: the
 * query record, on the caller's stack, is never touched after it returns.
 *
 * The context is made and checked (finalized) here, but unbound's thread
 * starts with the first lookup: make the resolver before or after
 * daemonizing, but look nothing up before a fork.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>
#include <unistd.h>

#include "common/dns_cache.h"
#include "common/dns_impl.h"
#include "common/xalloc.h"

#define DNS_CLASS_IN 1
/* Answers kept in process (common/dns_cache.h): a few megabytes at most. */
#define DNS_CACHE_ENTRIES 20000

struct ub_query;

struct ub_resolver {
	struct dns_resolver base; /* first: the resolver is cast to this */
	struct ub_ctx *ctx;
	int fd; /* ub_fd(): readable when answers wait for ub_process() */
	bool dnssec;
	pthread_mutex_t lock;     /* guards everything below and every ub_query */
	bool polling;             /* a thread waits on fd (the poller) */
	bool broken;              /* ub_process failed: no answer will come */
	struct ub_query *waiting; /* lookups without an answer, newest first */
};

/* One lookup in flight, on the stack of the thread that asked. */
struct ub_query {
	struct ub_query *next, *prev; /* in ub_resolver.waiting while !done */
	pthread_cond_t wake;          /* answer in, or the fd is handed over */
	bool done;
	int err;
	struct ub_result *result;
	struct ub_resolver *resolver;
};

/* ------------------------------------------------------------ waiting */

/* Newest first: its deadline is the furthest, the best poller to hand over to. */
static void
waiting_add(struct ub_resolver *r, struct ub_query *q)
{
	q->prev = NULL;
	q->next = r->waiting;
	if (r->waiting != NULL)
		r->waiting->prev = q;
	r->waiting = q;
}

static void
waiting_remove(struct ub_resolver *r, struct ub_query *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else if (r->waiting == q)
		r->waiting = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->next = q->prev = NULL;
}

/* Called by whichever thread runs ub_process(), with no unbound lock held. */
static void
query_done(void *arg, int err, struct ub_result *result)
{
	struct ub_query *q = arg;
	struct ub_resolver *r = q->resolver;

	pthread_mutex_lock(&r->lock);
	q->err = err;
	q->result = result;
	q->done = true;
	waiting_remove(r, q);
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&r->lock);
}

/* Nobody polls but lookups wait: wake one so it takes the fd. */
static void
poller_hand_over(struct ub_resolver *r)
{
	if (!r->polling && r->waiting != NULL)
		pthread_cond_signal(&r->waiting->wake);
}

/* No answer will come any more: wake every waiting lookup; lock held. */
static void
resolver_break(struct ub_resolver *r)
{
	r->broken = true;
	for (struct ub_query *q = r->waiting; q != NULL; q = q->next)
		pthread_cond_signal(&q->wake);
}

/* poll(2)'s timeout: rounded up, so a poller never wakes just before its deadline. */
static int
poll_ms(int64_t left_us)
{
	return left_us >= (int64_t)INT_MAX * 1000 ? INT_MAX : (int)((left_us + 999) / 1000);
}

/* Wait for answers on fd until q is done or the deadline; lock held. */
static void
poller_run(struct ub_resolver *r, struct ub_query *q, int64_t deadline_us)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	int64_t left_us;
	int n;

	r->polling = true;
	while (!q->done && !r->broken && (left_us = deadline_us - dns_now_us()) > 0) {
		pthread_mutex_unlock(&r->lock);
		n = poll(&pfd, 1, poll_ms(left_us));
		if ((n < 0 && errno != EINTR) || (n > 0 && ub_process(r->ctx) != UB_NOERROR)) {
			pthread_mutex_lock(&r->lock);
			resolver_break(r);
			break;
		}
		pthread_mutex_lock(&r->lock);
	}
	r->polling = false;
}

static void
deadline_timespec(int64_t deadline_us, struct timespec *ts)
{
	ts->tv_sec = (time_t)(deadline_us / 1000000);
	ts->tv_nsec = (long)(deadline_us % 1000000) * 1000;
}

/* Until q is done, the deadline passes or the resolver broke; lock held. */
static void
query_wait(struct ub_resolver *r, struct ub_query *q, int64_t deadline_us)
{
	struct timespec ts;

	deadline_timespec(deadline_us, &ts);
	while (!q->done && !r->broken && dns_now_us() < deadline_us) {
		if (!r->polling)
			poller_run(r, q, deadline_us);
		else
			pthread_cond_timedwait(&q->wake, &r->lock, &ts);
	}
	if (!q->done)
		waiting_remove(r, q);
	/* The fd may have been handed to this thread as it left. */
	poller_hand_over(r);
}

/*
 * Give up on q: after a successful ub_cancel its callback never runs;
 * otherwise it is running in another thread right now.  Lock held.
 */
static void
query_cancel(struct ub_resolver *r, struct ub_query *q, int async_id)
{
	if (ub_cancel(r->ctx, async_id) == UB_NOERROR)
		return;
	while (!q->done)
		pthread_cond_wait(&q->wake, &r->lock);
}

/* ------------------------------------------------------------ answers */

/* Append one label in presentation form: dots and odd bytes escaped. */
static void
name_put_label(struct buf *out, const unsigned char *label, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = label[i];

		if (c == '.' || c == '\\')
			buf_printf(out, "\\%c", c);
		else if (c <= ' ' || c >= 0x7f)
			buf_printf(out, "\\%03u", c);
		else
			buf_append(out, &c, 1);
	}
}

/*
 * An uncompressed wire-format name (unbound decompresses rdata) to
 * presentation form without the trailing dot ("" for the root).
 */
static bool
name_from_wire(const unsigned char *wire, size_t len, struct buf *out)
{
	size_t pos = 0;

	while (pos < len) {
		size_t label = wire[pos++];

		if (label == 0)
			return pos == len && pos <= 255;
		if (label > 63 || label > len - pos)
			return false;
		if (out->len > 0)
			buf_append(out, ".", 1);
		name_put_label(out, wire + pos, label);
		pos += label;
	}
	return false; /* no root label */
}

/* TXT: the character-strings of one record, concatenated. */
static bool
txt_from_wire(const unsigned char *rdata, size_t len, struct buf *out)
{
	size_t pos = 0;

	while (pos < len) {
		size_t n = rdata[pos++];

		if (n > len - pos)
			return false;
		buf_append(out, rdata + pos, n);
		pos += n;
	}
	return true;
}

static bool
rr_add(struct dns_answer *ans, enum dns_type type, const unsigned char *rdata, size_t len)
{
	struct buf text = BUF_INIT;
	uint16_t pref = 0;
	bool ok;

	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		if (len != (type == DNS_T_A ? 4 : 16))
			return false;
		dns_answer_add(ans, rdata, len, 0);
		return true;
	case DNS_T_TXT:
		ok = txt_from_wire(rdata, len, &text);
		break;
	case DNS_T_MX:
		ok = len > 2 && name_from_wire(rdata + 2, len - 2, &text);
		if (ok)
			pref = (uint16_t)(rdata[0] << 8 | rdata[1]);
		break;
	case DNS_T_PTR:
		ok = name_from_wire(rdata, len, &text);
		break;
	default:
		dns_answer_add(ans, rdata, len, 0);
		return true;
	}
	if (ok)
		dns_answer_add(ans, text.len > 0 ? text.data : "", text.len, pref);
	buf_free(&text);
	return ok;
}

void
dns_unbound_records(struct dns_answer *ans, enum dns_type type, const struct ub_result *res)
{
	for (size_t i = 0; res->data[i] != NULL; i++) {
		if (res->len[i] < 0 ||
		    !rr_add(ans, type, (const unsigned char *)res->data[i], (size_t)res->len[i])) {
			dns_answer_free(ans);
			dns_answer_tempfail(ans, "malformed record");
			return;
		}
	}
	ans->status = DNS_FOUND;
}

static void
answer_fill(const struct ub_resolver *r, enum dns_type type, int err, const struct ub_result *res,
            struct dns_answer *ans)
{
	char reason[32];

	if (err == UB_SYNTAX) {
		/* Not a name DNS can carry (empty or long label): none such exists. */
		ans->status = DNS_NXDOMAIN;
		return;
	}
	if (err != UB_NOERROR || res == NULL) {
		dns_answer_tempfail(ans, err == UB_PIPE ? "resolver failed" : ub_strerror(err));
		return;
	}
	if (res->bogus) {
		dns_answer_tempfail(ans, "DNSSEC bogus");
		return;
	}
	ans->secure = r->dnssec && res->secure;
	ans->ttl = res->ttl > 0 ? (uint32_t)res->ttl : 0;
	switch (res->rcode) {
	case 0:
		if (res->havedata)
			dns_unbound_records(ans, type, res);
		else
			ans->status = DNS_NODATA;
		return;
	case 2:
		dns_answer_tempfail(ans, "SERVFAIL");
		return;
	case 3:
		ans->status = DNS_NXDOMAIN;
		return;
	case 5:
		dns_answer_tempfail(ans, "REFUSED");
		return;
	default:
		snprintf(reason, sizeof(reason), "rcode %d", res->rcode);
		dns_answer_tempfail(ans, reason);
		return;
	}
}

/* ------------------------------------------------------------- lookup */

/*
 * Ask and wait until the answer is in or the deadline passes; returns
 * ub_resolve_async's status.  q->done: the answer is in q.
 */
static int
query_run(struct ub_resolver *r, struct ub_query *q, const char *name, enum dns_type type,
          int64_t deadline_us)
{
	int async_id = 0, rc;

	pthread_mutex_lock(&r->lock);
	if (r->broken) {
		pthread_mutex_unlock(&r->lock);
		return UB_PIPE;
	}
	/* Listed before the question is sent: the answer may come at once. */
	waiting_add(r, q);
	pthread_mutex_unlock(&r->lock);

	rc = ub_resolve_async(r->ctx, name, (int)type, DNS_CLASS_IN, q, query_done, &async_id);

	pthread_mutex_lock(&r->lock);
	if (rc != UB_NOERROR) {
		waiting_remove(r, q);
		poller_hand_over(r);
	} else {
		query_wait(r, q, deadline_us);
		if (!q->done) {
			query_cancel(r, q, async_id);
			rc = r->broken ? UB_PIPE : UB_NOERROR;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

static void
unbound_lookup(struct dns_resolver *resolver, const char *name, enum dns_type type,
               unsigned timeout_ms, struct dns_answer *ans)
{
	struct ub_resolver *r = (struct ub_resolver *)resolver;
	struct ub_query q = { .resolver = r };
	pthread_condattr_t attr;
	int rc;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q.wake, &attr);
	pthread_condattr_destroy(&attr);
	rc = query_run(r, &q, name, type, dns_now_us() + (int64_t)timeout_ms * 1000);
	pthread_cond_destroy(&q.wake);

	if (rc == UB_NOERROR && !q.done)
		dns_answer_tempfail(ans, "timeout");
	else
		answer_fill(r, type, rc != UB_NOERROR ? rc : q.err, q.result, ans);
	ub_resolve_free(q.result);
}

static void
unbound_free(struct dns_resolver *resolver)
{
	struct ub_resolver *r = (struct ub_resolver *)resolver;

	ub_ctx_delete(r->ctx);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static const struct dns_ops unbound_ops = { unbound_lookup, unbound_free };

/* -------------------------------------------------------------- setup */

/* "ADDR" or "ADDR@PORT" with an IPv4 or IPv6 address and a port 1-65535. */
static bool
server_valid(const char *server)
{
	const char *at = strchr(server, '@');
	size_t len = at != NULL ? (size_t)(at - server) : strlen(server);
	unsigned char bytes[16];
	char addr[64];
	char *end;
	long port;

	if (len == 0 || len >= sizeof(addr))
		return false;
	memcpy(addr, server, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, bytes) != 1 && inet_pton(AF_INET6, addr, bytes) != 1)
		return false;
	if (at == NULL)
		return true;
	errno = 0;
	port = strtol(at + 1, &end, 10);
	return at[1] >= '0' && at[1] <= '9' && *end == '\0' && errno == 0 && port >= 1 &&
	       port <= 65535;
}

/* Zone names go into a config file: letters, digits, '-', '_' and dots only. */
static bool
zone_valid(const char *zone)
{
	size_t len = strlen(zone);

	return len > 0 && len < 254 &&
	       strspn(zone, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
	           len &&
	       strstr(zone, "..") == NULL && (zone[0] != '.' || len == 1);
}

static bool
setting_failed(int rc, const char *what, const char *value, struct buf *err)
{
	if (rc == UB_NOERROR)
		return false;
	buf_printf(err, "dns: %s %s: %s", what, value, ub_strerror(rc));
	return true;
}

static bool
option_set(struct ub_ctx *ctx, const char *option, const char *value, struct buf *err)
{
	return !setting_failed(ub_ctx_set_option(ctx, option, value), "option", option, err);
}

/* Forwarders for every name: the configured ones or /etc/resolv.conf's. */
static bool
setup_forwarders(struct ub_ctx *ctx, const struct dns_config *cfg, struct buf *err)
{
	char line[512];
	bool listed = false;
	FILE *f;

	for (size_t i = 0; i < cfg->n_nameservers; i++) {
		if (!server_valid(cfg->nameservers[i])) {
			buf_printf(err, "dns: nameserver %s: not ADDR or ADDR@PORT",
			           cfg->nameservers[i]);
			return false;
		}
		if (setting_failed(ub_ctx_set_fwd(ctx, cfg->nameservers[i]), "nameserver",
		                   cfg->nameservers[i], err))
			return false;
	}
	if (cfg->n_nameservers > 0)
		return true;
	/* ub_ctx_resolvconf falls back to 127.0.0.1; without nameservers recurse. */
	f = fopen("/etc/resolv.conf", "r");
	if (f == NULL)
		return true;
	while (!listed && fgets(line, sizeof(line), f) != NULL)
		listed = strncmp(line + strspn(line, " \t"), "nameserver", 10) == 0;
	fclose(f);
	if (!listed)
		return true;
	return !setting_failed(ub_ctx_resolvconf(ctx, "/etc/resolv.conf"), "reading",
	                       "/etc/resolv.conf", err);
}

/* The forward-zone clauses (libunbound has no call for them) as config text. */
static bool
zones_config(const struct dns_config *cfg, struct buf *text, struct buf *err)
{
	for (size_t i = 0; i < cfg->n_zones; i++) {
		const struct dns_forward_zone *z = &cfg->zones[i];

		if (!zone_valid(z->zone) || z->n_servers == 0) {
			buf_printf(err, "dns: forward zone \"%s\": %s", z->zone,
			           z->n_servers == 0 ? "no servers" : "not a domain name");
			return false;
		}
		/* Transparent: unbound's own answers (test., 10.in-addr.arpa...) step aside. */
		buf_printf(text, "server:\n\tlocal-zone: \"%s\" transparent\n", z->zone);
		if (cfg->dnssec)
			buf_printf(text, "\tdomain-insecure: \"%s\"\n", z->zone);
		buf_printf(text, "forward-zone:\n\tname: \"%s\"\n", z->zone);
		for (size_t j = 0; j < z->n_servers; j++) {
			if (!server_valid(z->servers[j])) {
				buf_printf(err,
				           "dns: forward zone %s: server %s: not ADDR or ADDR@PORT",
				           z->zone, z->servers[j]);
				return false;
			}
			buf_printf(text, "\tforward-addr: %s\n", z->servers[j]);
		}
	}
	return true;
}

/* Load config text through a temporary file (ub_ctx_config reads it at once). */
static bool
setup_config_text(struct ub_ctx *ctx, const struct buf *text, struct buf *err)
{
	const char *tmpdir = getenv("TMPDIR");
	char *path = xasprintf("%s/mailward-unbound.XXXXXX", tmpdir != NULL ? tmpdir : "/tmp");
	int fd = mkstemp(path), rc;
	bool written;

	if (fd < 0) {
		buf_printf(err, "dns: temporary file %s: %s", path, strerror(errno));
		free(path);
		return false;
	}
	written = write(fd, text->data, text->len) == (ssize_t)text->len;
	close(fd);
	rc = written ? ub_ctx_config(ctx, path) : UB_READFILE;
	unlink(path);
	free(path);
	return !setting_failed(rc, "forward zones", "(as unbound config)", err);
}

static bool
setup_zones(struct ub_ctx *ctx, const struct dns_config *cfg, struct buf *err)
{
	struct buf text = BUF_INIT;
	bool ok;

	if (cfg->n_zones == 0)
		return true;
	ok = zones_config(cfg, &text, err) && setup_config_text(ctx, &text, err);
	buf_free(&text);
	return ok;
}

static bool
setup_dnssec(struct ub_ctx *ctx, const struct dns_config *cfg, struct buf *err)
{
	FILE *f;

	if (!cfg->dnssec)
		return true;
	if (cfg->trust_anchor_file == NULL) {
		buf_puts(err, "dns: DNSSEC validation needs a trust anchor file");
		return false;
	}
	/* unbound reads it later; say clearly now when it cannot. */
	f = fopen(cfg->trust_anchor_file, "r");
	if (f == NULL) {
		buf_printf(err, "dns: trust anchor file %s: %s", cfg->trust_anchor_file,
		           strerror(errno));
		return false;
	}
	fclose(f);
	return !setting_failed(ub_ctx_add_ta_file(ctx, cfg->trust_anchor_file), "trust anchor file",
	                       cfg->trust_anchor_file, err);
}

static bool
setup_context(struct ub_ctx *ctx, const struct dns_config *cfg, struct buf *err)
{
	/* Answers in the servers' order: the same question reads the same in logs. */
	if (setting_failed(ub_ctx_async(ctx, 1), "async", "threads", err) ||
	    !option_set(ctx, "do-not-query-localhost:", "no", err) ||
	    !option_set(ctx, "rrset-roundrobin:", "no", err))
		return false;
	if (!cfg->dnssec && !option_set(ctx, "module-config:", "iterator", err))
		return false;
	if (!setup_zones(ctx, cfg, err) || !setup_forwarders(ctx, cfg, err) ||
	    !setup_dnssec(ctx, cfg, err))
		return false;
	/*
	 * unbound applies its settings when the first question finalizes the
	 * context; removing a zone that cannot exist finalizes it now, so a
	 * bad setting fails here and not on the first message.
	 */
	return !setting_failed(ub_ctx_zone_remove(ctx, "finalize.mailward.invalid"),
	                       "libunbound rejected the settings", "(its log says why)", err);
}

struct dns_resolver *
dns_resolver_new(const struct dns_config *cfg, struct buf *err)
{
	struct ub_resolver *r;
	struct ub_ctx *ctx = ub_ctx_create();

	if (ctx == NULL) {
		buf_puts(err, "dns: cannot create the libunbound context");
		return NULL;
	}
	if (!setup_context(ctx, cfg, err)) {
		ub_ctx_delete(ctx);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->base.ops = &unbound_ops;
	r->base.cache = dns_cache_new(DNS_CACHE_ENTRIES);
	r->base.query_timeout_ms = cfg->query_timeout_ms;
	r->base.message_budget_ms = cfg->message_budget_ms;
	r->ctx = ctx;
	r->fd = ub_fd(ctx);
	r->dnssec = cfg->dnssec;
	pthread_mutex_init(&r->lock, NULL);
	return &r->base;
}
