/*
 * redis_store - one connection to the fleet's Redis, for the store's modules
 *
 * The store's Redis backend (store.h, store.redis) sends every command
 * through here: one connection per process, shared by the milter's
 * threads under a lock, each call bounded by the configured timeout (the
 * connect and every reply).  A connection that fails (refused, reset,
 * timed out) is dropped and tried again only after a back-off that doubles
 * from 100 ms to 2 s, so while Redis is down each call fails at once with
 * the reason (the caller applies its failure action) instead of waiting,
 * and the first call after Redis is back reconnects by itself.  A Redis
 * error reply (a wrong type, out of memory) fails that call only.
 *
 * What a call may wait, at most: the timeout for the lock (a thread behind
 * one that waits for a slow Redis gives up), then, when it is the one that
 * reconnects, the timeout for the connect, then the timeout for each reply
 * (one for a lookup).  So a lookup on the mail path waits the timeout
 * once while Redis stalls, and not at all while Redis is known down.
 */
#ifndef MW_REDIS_STORE_H
#define MW_REDIS_STORE_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "common/buf.h"

#define REDIS_CMD_ARGS 24

struct redis_store;

/* One command, argument by argument (binary-safe: lengths are explicit). */
struct redis_cmd {
	int argc;
	const char *argv[REDIS_CMD_ARGS];
	size_t len[REDIS_CMD_ARGS];
};

/* Start a command: cmd = { word }. */
void redis_cmd_init(struct redis_cmd *cmd, const char *word);
/* Append an argument: a string, bytes, a buf, a number (formatted into num, kept by caller). */
void redis_cmd_arg(struct redis_cmd *cmd, const char *s);
void redis_cmd_bytes(struct redis_cmd *cmd, const void *p, size_t len);
void redis_cmd_buf(struct redis_cmd *cmd, const struct buf *b);

/*
 * The connection for address ("HOST:PORT", "[IPv6]:PORT", "unix:/path"),
 * keys under prefix; NULL with the reason in err only for an address that
 * does not parse: Redis being down is not an error here (the first
 * command connects).
 */
struct redis_store *redis_store_open(const char *address, const char *prefix, int timeout_ms,
                                     struct buf *err);
void redis_store_close(struct redis_store *rs);
const char *redis_store_prefix(const struct redis_store *rs);

/*
 * Send count commands in one round trip (a pipeline: MULTI ... EXEC make
 * one transaction of them); replies[i] answers cmds[i] (freeReplyObject
 * each, or redis_replies_free()).  0, or -1 with the reason in err and no
 * replies (the connection failed, or one reply is a Redis error).
 */
int redis_store_run(struct redis_store *rs, const struct redis_cmd *cmds, size_t count,
                    redisReply **replies, struct buf *err);
/* One command; its reply, or NULL with the reason in err. */
redisReply *redis_store_command(struct redis_store *rs, const struct redis_cmd *cmd,
                                struct buf *err);
void redis_replies_free(redisReply **replies, size_t count);

/* A reply's integer (an integer or a numeric string), 0 for anything else. */
long long redis_reply_integer(const redisReply *reply);

#endif
