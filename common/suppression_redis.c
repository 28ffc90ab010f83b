/*
 * suppression_redis - the suppression list in Redis; see suppression_redis.h.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/redis_keys.h"
#include "common/suppression_redis.h"
#include "common/xalloc.h"

#define LIST_PAGE 500

/* The keys one entry is written under; bufs owned by the caller. */
struct entry_keys {
	struct buf key, member;
	char time[24];
};

static void
keys_fill(struct entry_keys *k, const char *prefix, const char *address, const char *scope)
{
	redis_key_suppression(&k->key, prefix, address, scope);
	redis_member_suppression(&k->member, address, scope);
}

static void
keys_free(struct entry_keys *k)
{
	buf_free(&k->key);
	buf_free(&k->member);
}

int
suppression_redis_put(struct redis_store *rs, const struct suppression_entry *entries, size_t count,
                      struct buf *err)
{
	struct entry_keys *k = xcalloc(count, sizeof(*k));
	struct redis_cmd *cmds = xcalloc(2 * count + 2, sizeof(*cmds));
	redisReply **replies = xcalloc(2 * count + 2, sizeof(*replies));
	struct buf index = BUF_INIT;
	size_t n = 0;
	int rc;

	redis_key_suppression_index(&index, redis_store_prefix(rs));
	redis_cmd_init(&cmds[n++], "MULTI");
	for (size_t i = 0; i < count; i++) {
		const struct suppression_entry *e = &entries[i];

		keys_fill(&k[i], redis_store_prefix(rs), e->address, e->scope);
		snprintf(k[i].time, sizeof(k[i].time), "%lld", (long long)e->time);
		redis_cmd_init(&cmds[n], "HSET");
		redis_cmd_buf(&cmds[n], &k[i].key);
		redis_cmd_arg(&cmds[n], "reason");
		redis_cmd_arg(&cmds[n], suppression_reason_name(e->reason));
		redis_cmd_arg(&cmds[n], "time");
		redis_cmd_arg(&cmds[n], k[i].time);
		redis_cmd_arg(&cmds[n], "message_id");
		redis_cmd_arg(&cmds[n++], e->message_id);
		redis_cmd_init(&cmds[n], "ZADD");
		redis_cmd_buf(&cmds[n], &index);
		redis_cmd_arg(&cmds[n], "0");
		redis_cmd_buf(&cmds[n++], &k[i].member);
	}
	redis_cmd_init(&cmds[n++], "EXEC");
	rc = redis_store_run(rs, cmds, n, replies, err);
	if (rc == 0 && replies[n - 1]->type != REDIS_REPLY_ARRAY) {
		buf_printf(err, "redis: the suppression transaction was not applied");
		rc = -1;
	}
	if (rc == 0)
		redis_replies_free(replies, n);
	for (size_t i = 0; i < count; i++)
		keys_free(&k[i]);
	buf_free(&index);
	free(replies);
	free(cmds);
	free(k);
	return rc;
}

/* A stored reason word; MANUAL for one this version does not know. */
static enum suppression_reason
reason_of(const redisReply *r)
{
	enum suppression_reason reason = SUPPRESSION_MANUAL;

	if (r->type == REDIS_REPLY_STRING)
		suppression_reason_parse(r->str, &reason);
	return reason;
}

/* An HMGET reason time message_id reply into out; false when the entry is gone. */
static bool
entry_of(const redisReply *r, const char *address, const char *scope, struct suppression_entry *out)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return false;
	memset(out, 0, sizeof(*out));
	snprintf(out->address, sizeof(out->address), "%s", address);
	snprintf(out->scope, sizeof(out->scope), "%s", scope);
	out->reason = reason_of(r->element[0]);
	out->time = (time_t)redis_reply_integer(r->element[1]);
	if (r->element[2]->type == REDIS_REPLY_STRING)
		snprintf(out->message_id, sizeof(out->message_id), "%s", r->element[2]->str);
	return true;
}

static void
hmget_init(struct redis_cmd *cmd, const struct buf *key)
{
	redis_cmd_init(cmd, "HMGET");
	redis_cmd_buf(cmd, key);
	redis_cmd_arg(cmd, "reason");
	redis_cmd_arg(cmd, "time");
	redis_cmd_arg(cmd, "message_id");
}

int
suppression_redis_get(struct redis_store *rs, const char *address, const char *scope,
                      struct suppression_entry *out, struct buf *err)
{
	struct buf key = BUF_INIT;
	struct redis_cmd cmd;
	redisReply *reply;
	int found = -1;

	redis_key_suppression(&key, redis_store_prefix(rs), address, scope);
	hmget_init(&cmd, &key);
	if ((reply = redis_store_command(rs, &cmd, err)) != NULL) {
		found = entry_of(reply, address, scope, out) ? 1 : 0;
		freeReplyObject(reply);
	}
	buf_free(&key);
	return found;
}

int
suppression_redis_remove(struct redis_store *rs, const char *address, const char *scope,
                         struct buf *err)
{
	struct entry_keys k = { BUF_INIT, BUF_INIT, "" };
	struct buf index = BUF_INIT;
	struct redis_cmd cmds[4];
	redisReply *replies[4];
	int rc = -1;

	keys_fill(&k, redis_store_prefix(rs), address, scope);
	redis_key_suppression_index(&index, redis_store_prefix(rs));
	redis_cmd_init(&cmds[0], "MULTI");
	redis_cmd_init(&cmds[1], "DEL");
	redis_cmd_buf(&cmds[1], &k.key);
	redis_cmd_init(&cmds[2], "ZREM");
	redis_cmd_buf(&cmds[2], &index);
	redis_cmd_buf(&cmds[2], &k.member);
	redis_cmd_init(&cmds[3], "EXEC");
	if (redis_store_run(rs, cmds, 4, replies, err) == 0) {
		const redisReply *exec = replies[3];

		rc = exec->type == REDIS_REPLY_ARRAY && exec->elements == 2 &&
		             redis_reply_integer(exec->element[0]) > 0
		         ? 1
		         : 0;
		redis_replies_free(replies, 4);
	}
	keys_free(&k);
	buf_free(&index);
	return rc;
}

/* ---------------------------------------------------------------- list */

struct lister {
	struct redis_store *rs;
	const struct suppression_filter *filter;
	suppression_fn each;
	void *arg;
	long n;
	bool stop;
};

static bool
wanted(const struct suppression_filter *f, const struct suppression_entry *e)
{
	return (!f->reason_set || e->reason == f->reason) &&
	       (!f->since_set || e->time >= f->since) && (!f->until_set || e->time < f->until);
}

/*
 * The entries of one page of index members, read in one round trip;
 * 0 or -1.  Members whose hash is gone (removed meanwhile) are skipped.
 */
static int
list_page(struct lister *l, const redisReply *members, struct buf *err)
{
	size_t count = members->elements;
	struct suppression_entry *e = xcalloc(count, sizeof(*e));
	struct buf *keys = xcalloc(count, sizeof(*keys));
	struct redis_cmd *cmds = xcalloc(count, sizeof(*cmds));
	redisReply **replies = xcalloc(count, sizeof(*replies));
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < count; i++) {
		const redisReply *m = members->element[i];

		if (m->type != REDIS_REPLY_STRING ||
		    !redis_member_split(m->str, m->len, e[n].address, sizeof(e[n].address),
		                        e[n].scope, sizeof(e[n].scope)) ||
		    (l->filter->scope != NULL && strcmp(e[n].scope, l->filter->scope) != 0))
			continue;
		redis_key_suppression(&keys[n], redis_store_prefix(l->rs), e[n].address,
		                      e[n].scope);
		hmget_init(&cmds[n], &keys[n]);
		n++;
	}
	rc = n > 0 ? redis_store_run(l->rs, cmds, n, replies, err) : 0;
	for (size_t i = 0; rc == 0 && i < n && !l->stop; i++) {
		struct suppression_entry entry;

		if (!entry_of(replies[i], e[i].address, e[i].scope, &entry) ||
		    !wanted(l->filter, &entry))
			continue;
		l->n++;
		if (l->each(&entry, l->arg) != 0 ||
		    (l->filter->limit >= 0 && l->n >= l->filter->limit))
			l->stop = true;
	}
	if (rc == 0)
		redis_replies_free(replies, n);
	for (size_t i = 0; i < n; i++)
		buf_free(&keys[i]);
	free(replies);
	free(cmds);
	free(keys);
	free(e);
	return rc;
}

/* ZRANGEBYLEX index (after "+" LIMIT 0 LIST_PAGE: the next page of members. */
static redisReply *
next_members(struct lister *l, const struct buf *index, const struct buf *after, struct buf *err)
{
	struct redis_cmd cmd;
	struct buf start = BUF_INIT;
	redisReply *reply;

	if (after->len == 0)
		buf_puts(&start, "-");
	else {
		buf_puts(&start, "(");
		buf_append(&start, after->data, after->len);
	}
	redis_cmd_init(&cmd, "ZRANGEBYLEX");
	redis_cmd_buf(&cmd, index);
	redis_cmd_buf(&cmd, &start);
	redis_cmd_arg(&cmd, "+");
	redis_cmd_arg(&cmd, "LIMIT");
	redis_cmd_arg(&cmd, "0");
	redis_cmd_arg(&cmd, "500");
	reply = redis_store_command(l->rs, &cmd, err);
	buf_free(&start);
	if (reply != NULL && reply->type != REDIS_REPLY_ARRAY) {
		buf_printf(err, "redis: the suppression index is not a sorted set");
		freeReplyObject(reply);
		reply = NULL;
	}
	return reply;
}

long
suppression_redis_list(struct redis_store *rs, const struct suppression_filter *filter,
                       suppression_fn each, void *arg, struct buf *err)
{
	struct lister l = { rs, filter, each, arg, 0, filter->limit == 0 };
	struct buf index = BUF_INIT, after = BUF_INIT;
	redisReply *members;
	int rc = 0;

	_Static_assert(LIST_PAGE == 500, "next_members() asks for LIST_PAGE members");
	redis_key_suppression_index(&index, redis_store_prefix(rs));
	if (filter->after_address != NULL)
		redis_member_suppression(&after, filter->after_address,
		                         filter->after_scope ? filter->after_scope : "");
	while (!l.stop && rc == 0) {
		if ((members = next_members(&l, &index, &after, err)) == NULL) {
			rc = -1;
			break;
		}
		if (members->elements > 0) {
			const redisReply *last = members->element[members->elements - 1];

			buf_reset(&after);
			buf_append(&after, last->str, last->len);
			rc = list_page(&l, members, err);
		}
		if (members->elements < LIST_PAGE)
			l.stop = true;
		freeReplyObject(members);
	}
	buf_free(&index);
	buf_free(&after);
	return rc < 0 ? -1 : l.n;
}
