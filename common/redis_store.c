/*
 * redis_store - the shared connection to Redis; see redis_store.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/deadline.h"
#include "common/log.h"
#include "common/redis_keys.h"
#include "common/redis_store.h"
#include "common/xalloc.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS   2000

struct redis_store {
	struct redis_address address;
	char *spec, *prefix;
	struct timeval timeout;
	pthread_mutex_t lock;
	redisContext *ctx;  /* NULL while disconnected */
	long long retry_at; /* monotonic ms: no connect before it */
	long backoff_ms;    /* the next wait after a failure */
	char last_error[200];
	bool lost; /* logged the loss; log the recovery */
};

void
redis_cmd_init(struct redis_cmd *cmd, const char *word)
{
	cmd->argc = 0;
	redis_cmd_arg(cmd, word);
}

void
redis_cmd_bytes(struct redis_cmd *cmd, const void *p, size_t len)
{
	if (cmd->argc >= REDIS_CMD_ARGS)
		log_panic("redis_cmd: more than %d arguments", REDIS_CMD_ARGS);
	cmd->argv[cmd->argc] = p;
	cmd->len[cmd->argc++] = len;
}

void
redis_cmd_arg(struct redis_cmd *cmd, const char *s)
{
	redis_cmd_bytes(cmd, s, strlen(s));
}

void
redis_cmd_buf(struct redis_cmd *cmd, const struct buf *b)
{
	redis_cmd_bytes(cmd, buf_str(b), b->len);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct redis_store *
redis_store_open(const char *address, const char *prefix, int timeout_ms, struct buf *err)
{
	struct redis_store *rs = xcalloc(1, sizeof(*rs));
	char why[300];

	if (!redis_address_parse(address, &rs->address, why, sizeof(why))) {
		buf_printf(err, "store.redis: %s", why);
		free(rs);
		return NULL;
	}
	rs->spec = xstrdup(address);
	rs->prefix = xstrdup(prefix);
	rs->timeout.tv_sec = timeout_ms / 1000;
	rs->timeout.tv_usec = (timeout_ms % 1000) * 1000;
	rs->backoff_ms = BACKOFF_FIRST_MS;
	pthread_mutex_init(&rs->lock, NULL);
	return rs;
}

void
redis_store_close(struct redis_store *rs)
{
	if (rs == NULL)
		return;
	if (rs->ctx != NULL)
		redisFree(rs->ctx);
	pthread_mutex_destroy(&rs->lock);
	free(rs->spec);
	free(rs->prefix);
	free(rs);
}

const char *
redis_store_prefix(const struct redis_store *rs)
{
	return rs->prefix;
}

/* Drop the connection after a failure; wait before the next attempt. Lock held. */
static void
drop(struct redis_store *rs, const char *why)
{
	snprintf(rs->last_error, sizeof(rs->last_error), "%s", why);
	if (rs->ctx != NULL) {
		redisFree(rs->ctx);
		rs->ctx = NULL;
	}
	if (!rs->lost)
		log_warning(NULL, "redis %s: %s; reconnecting with back-off", rs->spec,
		            rs->last_error); /* why may be the freed connection's */
	rs->lost = true;
	rs->retry_at = now_ms() + rs->backoff_ms;
	rs->backoff_ms = rs->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : rs->backoff_ms * 2;
}

/* A live connection, or -1 with the reason. Lock held. */
static int
connected(struct redis_store *rs, struct buf *err)
{
	redisContext *c;

	if (rs->ctx != NULL)
		return 0;
	if (now_ms() < rs->retry_at) {
		buf_printf(err, "redis %s unavailable: %s", rs->spec, rs->last_error);
		return -1;
	}
	c = rs->address.unix_socket
	        ? redisConnectUnixWithTimeout(rs->address.host, rs->timeout)
	        : redisConnectWithTimeout(rs->address.host, rs->address.port, rs->timeout);
	if (c == NULL || c->err || redisSetTimeout(c, rs->timeout) != REDIS_OK) {
		drop(rs, c == NULL ? "cannot allocate a connection" : c->errstr);
		if (c != NULL)
			redisFree(c);
		buf_printf(err, "redis %s unavailable: %s", rs->spec, rs->last_error);
		return -1;
	}
	rs->ctx = c;
	rs->backoff_ms = BACKOFF_FIRST_MS;
	if (rs->lost)
		log_notice(NULL, "redis %s: connected again", rs->spec);
	rs->lost = false;
	return 0;
}

void
redis_replies_free(redisReply **replies, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (replies[i] != NULL) {
			freeReplyObject(replies[i]);
			replies[i] = NULL;
		}
}

/* Why the connection failed: a reply that did not come in time says so. */
static const char *
io_reason(const struct redis_store *rs, char *why, size_t size)
{
	/* hiredis keeps strerror(errno) of the failed read; errno itself may be gone. */
	if (rs->ctx->err == REDIS_ERR_IO && (strcmp(rs->ctx->errstr, strerror(EAGAIN)) == 0 ||
	                                     strcmp(rs->ctx->errstr, strerror(EWOULDBLOCK)) == 0)) {
		snprintf(why, size, "no reply within %ld ms",
		         (long)(rs->timeout.tv_sec * 1000 + rs->timeout.tv_usec / 1000));
		return why;
	}
	return rs->ctx->errstr[0] ? rs->ctx->errstr : "connection failed";
}

/* The pipeline itself; lock held, connected. */
static int
run_locked(struct redis_store *rs, const struct redis_cmd *cmds, size_t count, redisReply **replies,
           struct buf *err)
{
	char why[64];
	int bad = -1;

	for (size_t i = 0; i < count; i++)
		/* hiredis 0.14 takes a non-const argv, which it only reads. */
		if (redisAppendCommandArgv(rs->ctx, cmds[i].argc, (const char **)cmds[i].argv,
		                           cmds[i].len) != REDIS_OK)
			goto io_error;
	for (size_t i = 0; i < count; i++) {
		void *reply = NULL;

		if (redisGetReply(rs->ctx, &reply) != REDIS_OK || reply == NULL) {
			redis_replies_free(replies, i);
			goto io_error;
		}
		replies[i] = reply;
		if (replies[i]->type == REDIS_REPLY_ERROR && bad < 0)
			bad = (int)i;
	}
	if (bad >= 0) {
		buf_printf(err, "redis %s: %s: %.*s", rs->spec, cmds[bad].argv[0],
		           (int)replies[bad]->len, replies[bad]->str);
		redis_replies_free(replies, count);
		return -1;
	}
	return 0;
io_error:
	drop(rs, io_reason(rs, why, sizeof(why)));
	buf_printf(err, "redis %s unavailable: %s", rs->spec, rs->last_error);
	return -1;
}

/*
 * run_locked() with SIGPIPE blocked in this thread: a write to a
 * connection Redis has closed must fail with EPIPE (a dropped connection),
 * not end the process (the CLI does not ignore SIGPIPE).  A SIGPIPE it
 * raised is taken back before the old mask returns.
 */
static int
run_guarded(struct redis_store *rs, const struct redis_cmd *cmds, size_t count,
            redisReply **replies, struct buf *err)
{
	const struct timespec now = { 0, 0 };
	sigset_t pipe_set, old;
	int rc;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	rc = run_locked(rs, cmds, count, replies, err);
	if (!sigismember(&old, SIGPIPE)) {
		while (sigtimedwait(&pipe_set, NULL, &now) > 0)
			;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	return rc;
}

/*
 * The connection's lock, waiting no longer than the timeout: while one
 * thread waits for a slow Redis the others give up instead of queueing
 * behind it.
 */
static int
lock_within_timeout(struct redis_store *rs)
{
	struct timespec until;

	deadline_after_ms(&until,
	                  (unsigned)(rs->timeout.tv_sec * 1000 + rs->timeout.tv_usec / 1000));
	return pthread_mutex_timedlock(&rs->lock, &until);
}

int
redis_store_run(struct redis_store *rs, const struct redis_cmd *cmds, size_t count,
                redisReply **replies, struct buf *err)
{
	int rc;

	memset(replies, 0, count * sizeof(*replies));
	if (lock_within_timeout(rs) != 0) {
		buf_printf(err, "redis %s: busy (another thread's command took the whole timeout)",
		           rs->spec);
		return -1;
	}
	rc = connected(rs, err) < 0 ? -1 : run_guarded(rs, cmds, count, replies, err);
	pthread_mutex_unlock(&rs->lock);
	return rc;
}

redisReply *
redis_store_command(struct redis_store *rs, const struct redis_cmd *cmd, struct buf *err)
{
	redisReply *reply;

	return redis_store_run(rs, cmd, 1, &reply, err) < 0 ? NULL : reply;
}

long long
redis_reply_integer(const redisReply *reply)
{
	if (reply == NULL)
		return 0;
	if (reply->type == REDIS_REPLY_INTEGER)
		return reply->integer;
	if (reply->type == REDIS_REPLY_STRING)
		return strtoll(reply->str, NULL, 10);
	return 0;
}
