/*
 * send_index_redis - the Message-ID index in Redis; see send_index_redis.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/redis_keys.h"
#include "common/send_index_redis.h"
#include "common/xalloc.h"

static const char *const fields[] = { "mail_id",     "time",   "timestamp", "source",
	                              "destination", "stream", "tags" };
#define FIELD_COUNT (sizeof(fields) / sizeof(fields[0]))

/* What one record is written with, alive until the pipeline has run. */
struct record_args {
	struct buf key, dest;
	char time[24], expires[24];
};

static const char *
nonnull(const char *s)
{
	return s != NULL ? s : "";
}

/* HSET and EXPIREAT of one record into cmds; how many commands. */
static size_t
record_cmds(struct redis_store *rs, const struct send_record *r, struct record_args *a,
            struct redis_cmd *cmds)
{
	const char *values[FIELD_COUNT];
	size_t n = 0;

	redis_key_send(&a->key, redis_store_prefix(rs), r->message_id);
	for (size_t i = 0; i < r->destination_count; i++)
		buf_printf(&a->dest, "%s%s", i ? "\n" : "", r->destination[i]);
	snprintf(a->time, sizeof(a->time), "%lld", (long long)r->time);
	snprintf(a->expires, sizeof(a->expires), "%lld", (long long)r->expires);
	values[0] = nonnull(r->mail_id);
	values[1] = a->time;
	values[2] = nonnull(r->timestamp);
	values[3] = nonnull(r->source);
	values[4] = buf_str(&a->dest);
	values[5] = nonnull(r->stream);
	values[6] = nonnull(r->tags);
	redis_cmd_init(&cmds[n], "HSET");
	redis_cmd_buf(&cmds[n], &a->key);
	for (size_t i = 0; i < FIELD_COUNT; i++) {
		redis_cmd_arg(&cmds[n], fields[i]);
		redis_cmd_arg(&cmds[n], values[i]);
	}
	n++;
	if (r->expires > 0) {
		redis_cmd_init(&cmds[n], "EXPIREAT");
		redis_cmd_buf(&cmds[n], &a->key);
		redis_cmd_arg(&cmds[n++], a->expires);
	}
	return n;
}

int
send_index_redis_add_many(struct redis_store *rs, const struct send_record *records, size_t count,
                          struct buf *err)
{
	struct record_args *a = xcalloc(count + 1, sizeof(*a));
	struct redis_cmd *cmds = xcalloc(2 * count + 2, sizeof(*cmds));
	redisReply **replies = xcalloc(2 * count + 2, sizeof(*replies));
	size_t n = 0;
	int rc;

	redis_cmd_init(&cmds[n++], "MULTI");
	for (size_t i = 0; i < count; i++)
		if (records[i].message_id != NULL)
			n += record_cmds(rs, &records[i], &a[i], &cmds[n]);
	redis_cmd_init(&cmds[n++], "EXEC");
	if ((rc = redis_store_run(rs, cmds, n, replies, err)) == 0)
		redis_replies_free(replies, n);
	for (size_t i = 0; i < count; i++) {
		buf_free(&a[i].key);
		buf_free(&a[i].dest);
	}
	free(replies);
	free(cmds);
	free(a);
	return rc;
}

static char *
string_or_null(const redisReply *r)
{
	return r->type == REDIS_REPLY_STRING && r->len > 0 ? xstrndup(r->str, r->len) : NULL;
}

static void
split_destination(const redisReply *r, struct send_record *out)
{
	const char *p = r->type == REDIS_REPLY_STRING ? r->str : NULL;

	while (p != NULL && *p != '\0') {
		size_t len = strcspn(p, "\n");

		out->destination =
		    xgrow(out->destination, out->destination_count, sizeof(*out->destination));
		out->destination[out->destination_count++] = xstrndup(p, len);
		p += len + (p[len] == '\n');
	}
}

static bool
record_of(const redisReply *r, const char *message_id, struct send_record *out)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != FIELD_COUNT ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return false;
	out->message_id = xstrdup(message_id);
	out->mail_id = string_or_null(r->element[0]);
	out->time = (time_t)redis_reply_integer(r->element[1]);
	out->timestamp = string_or_null(r->element[2]);
	out->source = string_or_null(r->element[3]);
	split_destination(r->element[4], out);
	out->stream = string_or_null(r->element[5]);
	out->tags = string_or_null(r->element[6]);
	return true;
}

int
send_index_redis_find(struct redis_store *rs, const char *message_id, struct send_record *out,
                      struct buf *err)
{
	struct buf key = BUF_INIT;
	struct redis_cmd cmd;
	redisReply *reply;
	int found = -1;

	memset(out, 0, sizeof(*out));
	redis_key_send(&key, redis_store_prefix(rs), message_id);
	redis_cmd_init(&cmd, "HMGET");
	redis_cmd_buf(&cmd, &key);
	for (size_t i = 0; i < FIELD_COUNT; i++)
		redis_cmd_arg(&cmd, fields[i]);
	if ((reply = redis_store_command(rs, &cmd, err)) != NULL) {
		found = record_of(reply, message_id, out) ? 1 : 0;
		freeReplyObject(reply);
	}
	buf_free(&key);
	return found;
}
