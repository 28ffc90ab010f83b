/*
 * reputation_redis - reputation in Redis; see reputation_redis.h.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/redis_keys.h"
#include "common/reputation_redis.h"
#include "common/xalloc.h"

#define KEEP_SECONDS_TEXT "608400" /* REPUTATION_KEEP_HOURS * 3600 */
_Static_assert(REPUTATION_KEEP_HOURS * 3600 == 608400, "KEEP_SECONDS_TEXT");

/* "KIND:NAME", the member of the state and name sets. */
static void
member_of(struct buf *out, enum reputation_kind kind, const char *name)
{
	buf_reset(out);
	buf_printf(out, "%s:%s", reputation_kind_name(kind), name);
}

static bool
member_split(const char *member, enum reputation_kind *kind, char *name, size_t size)
{
	const char *colon = strchr(member, ':');
	char word[16];

	if (colon == NULL || (size_t)(colon - member) >= sizeof(word))
		return false;
	memcpy(word, member, (size_t)(colon - member));
	word[colon - member] = '\0';
	if (!reputation_kind_parse(word, kind) || strlen(colon + 1) >= size)
		return false;
	snprintf(name, size, "%s", colon + 1);
	return true;
}

/* ---------------------------------------------------------------- counts */

/* The keys and numbers of one increment, alive until the pipeline has run. */
struct add_args {
	struct buf bucket, names, member;
	char n[3][24];
};

static size_t
add_one(struct redis_store *rs, const struct reputation_increment *row, struct add_args *a,
        struct redis_cmd *cmds)
{
	static const char *const fields[] = { "sends", "bounces", "complaints" };
	const int64_t v[] = { row->counts.sends, row->counts.bounces, row->counts.complaints };
	const char *prefix = redis_store_prefix(rs);
	size_t n = 0;

	redis_key_bucket(&a->bucket, prefix, reputation_kind_name(row->kind), row->name, row->hour);
	redis_key_names(&a->names, prefix, row->hour);
	member_of(&a->member, row->kind, row->name);
	for (int i = 0; i < 3; i++) {
		snprintf(a->n[i], sizeof(a->n[i]), "%" PRId64, v[i]);
		redis_cmd_init(&cmds[n], "HINCRBY");
		redis_cmd_buf(&cmds[n], &a->bucket);
		redis_cmd_arg(&cmds[n], fields[i]);
		redis_cmd_arg(&cmds[n++], a->n[i]);
	}
	redis_cmd_init(&cmds[n], "EXPIRE");
	redis_cmd_buf(&cmds[n], &a->bucket);
	redis_cmd_arg(&cmds[n++], KEEP_SECONDS_TEXT);
	redis_cmd_init(&cmds[n], "SADD");
	redis_cmd_buf(&cmds[n], &a->names);
	redis_cmd_buf(&cmds[n++], &a->member);
	redis_cmd_init(&cmds[n], "EXPIRE");
	redis_cmd_buf(&cmds[n], &a->names);
	redis_cmd_arg(&cmds[n++], KEEP_SECONDS_TEXT);
	return n;
}

int
reputation_redis_add(struct redis_store *rs, const struct reputation_increment *rows, size_t count,
                     struct buf *err)
{
	struct add_args *a = xcalloc(count, sizeof(*a));
	struct redis_cmd *cmds = xcalloc(6 * count + 2, sizeof(*cmds));
	redisReply **replies = xcalloc(6 * count + 2, sizeof(*replies));
	size_t n = 0;
	int rc;

	redis_cmd_init(&cmds[n++], "MULTI");
	for (size_t i = 0; i < count; i++)
		n += add_one(rs, &rows[i], &a[i], &cmds[n]);
	redis_cmd_init(&cmds[n++], "EXEC");
	if ((rc = redis_store_run(rs, cmds, n, replies, err)) == 0)
		redis_replies_free(replies, n);
	for (size_t i = 0; i < count; i++) {
		buf_free(&a[i].bucket);
		buf_free(&a[i].names);
		buf_free(&a[i].member);
	}
	free(replies);
	free(cmds);
	free(a);
	return rc;
}

static void
counts_of(const redisReply *r, size_t first, struct reputation_counts *out)
{
	memset(out, 0, sizeof(*out));
	if (r->type != REDIS_REPLY_ARRAY || r->elements < first + 3)
		return;
	out->sends = redis_reply_integer(r->element[first]);
	out->bounces = redis_reply_integer(r->element[first + 1]);
	out->complaints = redis_reply_integer(r->element[first + 2]);
}

static void
hmget_counts(struct redis_cmd *cmd, const struct buf *key)
{
	redis_cmd_init(cmd, "HMGET");
	redis_cmd_buf(cmd, key);
	redis_cmd_arg(cmd, "sends");
	redis_cmd_arg(cmd, "bounces");
	redis_cmd_arg(cmd, "complaints");
}

int
reputation_redis_window(struct redis_store *rs, enum reputation_kind kind, const char *name,
                        time_t now, long hours, const struct reputation_record *rec,
                        struct reputation_counts *out, struct buf *err)
{
	int64_t last = reputation_hour(now), first = last - hours + 1;
	bool rebased = rec != NULL && rec->base_hour >= first;
	size_t count;
	struct buf *keys;
	struct redis_cmd *cmds;
	redisReply **replies;
	int rc;

	memset(out, 0, sizeof(*out));
	if (rebased)
		first = rec->base_hour;
	if (first > last)
		return 0;
	count = (size_t)(last - first + 1);
	keys = xcalloc(count, sizeof(*keys));
	cmds = xcalloc(count, sizeof(*cmds));
	replies = xcalloc(count, sizeof(*replies));
	for (size_t i = 0; i < count; i++) {
		redis_key_bucket(&keys[i], redis_store_prefix(rs), reputation_kind_name(kind), name,
		                 first + (int64_t)i);
		hmget_counts(&cmds[i], &keys[i]);
	}
	if ((rc = redis_store_run(rs, cmds, count, replies, err)) == 0) {
		for (size_t i = 0; i < count; i++) {
			struct reputation_counts c;

			counts_of(replies[i], 0, &c);
			out->sends += c.sends;
			out->bounces += c.bounces;
			out->complaints += c.complaints;
		}
		redis_replies_free(replies, count);
	}
	for (size_t i = 0; i < count; i++)
		buf_free(&keys[i]);
	free(replies);
	free(cmds);
	free(keys);
	if (rc == 0 && rebased) {
		out->sends -= rec->base.sends;
		out->bounces -= rec->base.bounces;
		out->complaints -= rec->base.complaints;
	}
	return rc;
}

/* ---------------------------------------------------------------- states */

static void
hmget_state(struct redis_cmd *cmd, const struct buf *key)
{
	static const char *const fields[] = { "state",        "since",          "resume_at",
		                              "reason",       "base_hour",      "base_sends",
		                              "base_bounces", "base_complaints" };

	redis_cmd_init(cmd, "HMGET");
	redis_cmd_buf(cmd, key);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		redis_cmd_arg(cmd, fields[i]);
}

/* An HMGET of hmget_state() into out (kind and name set); false: no state. */
static bool
record_of(const redisReply *r, struct reputation_record *out)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 8 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return false;
	if (!reputation_state_parse(r->element[0]->str, &out->state))
		out->state = REPUTATION_STATE_OK;
	out->since = (time_t)redis_reply_integer(r->element[1]);
	out->resume_at = (time_t)redis_reply_integer(r->element[2]);
	if (r->element[3]->type == REDIS_REPLY_STRING)
		snprintf(out->reason, sizeof(out->reason), "%s", r->element[3]->str);
	out->base_hour = redis_reply_integer(r->element[4]);
	counts_of(r, 5, &out->base);
	return true;
}

static void
record_init(struct reputation_record *out, enum reputation_kind kind, const char *name)
{
	memset(out, 0, sizeof(*out));
	out->kind = kind;
	snprintf(out->name, sizeof(out->name), "%s", name);
}

int
reputation_redis_get(struct redis_store *rs, enum reputation_kind kind, const char *name,
                     struct reputation_record *out, struct buf *err)
{
	struct buf key = BUF_INIT;
	struct redis_cmd cmd;
	redisReply *reply;
	int rc = -1;

	record_init(out, kind, name);
	redis_key_state(&key, redis_store_prefix(rs), reputation_kind_name(kind), name);
	hmget_state(&cmd, &key);
	if ((reply = redis_store_command(rs, &cmd, err)) != NULL) {
		rc = record_of(reply, out) ? 1 : 0;
		freeReplyObject(reply);
	}
	buf_free(&key);
	return rc;
}

/*
 * KEYS: state hash, states set, outbox, baseline bucket.  ARGV: expected
 * state, member, rebase, state, since, resume_at, reason, base_hour,
 * base_sends, base_bounces, base_complaints, announcement ("" none).
 * Returns 0 when the state is not the expected one, else the baseline.
 */
static const char change_script[] =
    "local cur = redis.call('HGET', KEYS[1], 'state') or 'ok'\n"
    "if cur ~= ARGV[1] then return 0 end\n"
    "local b = { ARGV[9], ARGV[10], ARGV[11] }\n"
    "if ARGV[3] == '1' then\n"
    "  local v = redis.call('HMGET', KEYS[4], 'sends', 'bounces', 'complaints')\n"
    "  b = { v[1] or '0', v[2] or '0', v[3] or '0' }\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'state', ARGV[4], 'since', ARGV[5], 'resume_at', ARGV[6],\n"
    "  'reason', ARGV[7], 'base_hour', ARGV[8], 'base_sends', b[1], 'base_bounces', b[2],\n"
    "  'base_complaints', b[3])\n"
    "redis.call('SADD', KEYS[2], ARGV[2])\n"
    "if ARGV[12] ~= '' then redis.call('RPUSH', KEYS[3], ARGV[12]) end\n"
    "return b\n";

struct change_args {
	struct buf state, states, outbox, bucket, member, note;
	char num[7][24];
};

static void
change_args_free(struct change_args *a)
{
	buf_free(&a->state);
	buf_free(&a->states);
	buf_free(&a->outbox);
	buf_free(&a->bucket);
	buf_free(&a->member);
	buf_free(&a->note);
}

static void
change_cmd(struct redis_store *rs, const struct reputation_record *rec,
           enum reputation_state expect, bool rebase, const char *type, const char *body,
           struct change_args *a, struct redis_cmd *cmd)
{
	const char *prefix = redis_store_prefix(rs), *kind = reputation_kind_name(rec->kind);
	const int64_t v[] = { rec->since,      rec->resume_at,    rec->base_hour,
		              rec->base.sends, rec->base.bounces, rec->base.complaints };

	redis_key_state(&a->state, prefix, kind, rec->name);
	redis_key_fixed(&a->states, prefix, "rep-states");
	redis_key_fixed(&a->outbox, prefix, "rep-outbox");
	redis_key_bucket(&a->bucket, prefix, kind, rec->name, reputation_hour(rec->since));
	member_of(&a->member, rec->kind, rec->name);
	if (type != NULL)
		buf_printf(&a->note, "%s\n%s", type, body);
	for (size_t i = 0; i < 6; i++)
		snprintf(a->num[i], sizeof(a->num[i]), "%" PRId64, v[i]);
	redis_cmd_init(cmd, "EVAL");
	redis_cmd_arg(cmd, change_script);
	redis_cmd_arg(cmd, "4");
	redis_cmd_buf(cmd, &a->state);
	redis_cmd_buf(cmd, &a->states);
	redis_cmd_buf(cmd, &a->outbox);
	redis_cmd_buf(cmd, &a->bucket);
	redis_cmd_arg(cmd, reputation_state_name(expect));
	redis_cmd_buf(cmd, &a->member);
	redis_cmd_arg(cmd, rebase ? "1" : "0");
	redis_cmd_arg(cmd, reputation_state_name(rec->state));
	redis_cmd_arg(cmd, a->num[0]);
	redis_cmd_arg(cmd, a->num[1]);
	redis_cmd_arg(cmd, rec->reason);
	redis_cmd_arg(cmd, a->num[2]);
	redis_cmd_arg(cmd, a->num[3]);
	redis_cmd_arg(cmd, a->num[4]);
	redis_cmd_arg(cmd, a->num[5]);
	redis_cmd_buf(cmd, &a->note);
}

int
reputation_redis_change(struct redis_store *rs, struct reputation_record *rec,
                        enum reputation_state expect, bool rebase, const char *type,
                        const char *body, struct buf *err)
{
	struct change_args a = { 0 };
	struct redis_cmd cmd;
	redisReply *reply;
	int rc = -1;

	if (rebase)
		rec->base_hour = reputation_hour(rec->since);
	change_cmd(rs, rec, expect, rebase, type, body, &a, &cmd);
	if ((reply = redis_store_command(rs, &cmd, err)) != NULL) {
		rc = reply->type == REDIS_REPLY_ARRAY ? 1 : 0;
		if (rc == 1 && rebase)
			counts_of(reply, 0, &rec->base);
		freeReplyObject(reply);
	}
	change_args_free(&a);
	return rc;
}

/* ------------------------------------------------------- states, names */

/* Streams before domains, then by name: the SQLite order (kind DESC, name). */
static int
record_order(const void *x, const void *y)
{
	const struct reputation_record *a = x, *b = y;

	if (a->kind != b->kind)
		return a->kind == REPUTATION_STREAM ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* The members of a set-valued reply, split; how many in *out (malloc'd). */
static size_t
members_of(const redisReply *r, struct reputation_record **out)
{
	size_t n = 0;

	*out = xcalloc(r->elements + 1, sizeof(**out));
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *m = r->element[i];

		if (m->type == REDIS_REPLY_STRING &&
		    member_split(m->str, &(*out)[n].kind, (*out)[n].name, sizeof((*out)[n].name)))
			n++;
	}
	return n;
}

/* Read the state of each of recs[count]; 0 or -1. */
static int
read_states(struct redis_store *rs, struct reputation_record *recs, size_t count, bool *present,
            struct buf *err)
{
	struct buf *keys = xcalloc(count + 1, sizeof(*keys));
	struct redis_cmd *cmds = xcalloc(count + 1, sizeof(*cmds));
	redisReply **replies = xcalloc(count + 1, sizeof(*replies));
	int rc;

	for (size_t i = 0; i < count; i++) {
		redis_key_state(&keys[i], redis_store_prefix(rs),
		                reputation_kind_name(recs[i].kind), recs[i].name);
		hmget_state(&cmds[i], &keys[i]);
	}
	if ((rc = count > 0 ? redis_store_run(rs, cmds, count, replies, err) : 0) == 0) {
		for (size_t i = 0; i < count; i++)
			present[i] = record_of(replies[i], &recs[i]);
		redis_replies_free(replies, count);
	}
	for (size_t i = 0; i < count; i++)
		buf_free(&keys[i]);
	free(replies);
	free(cmds);
	free(keys);
	return rc;
}

int
reputation_redis_states(struct redis_store *rs, bool paused_only, reputation_record_fn fn,
                        void *arg, struct buf *err)
{
	struct buf key = BUF_INIT;
	struct reputation_record *recs = NULL;
	struct redis_cmd cmd;
	redisReply *reply;
	bool *present;
	size_t count;
	int rc;

	redis_key_fixed(&key, redis_store_prefix(rs), "rep-states");
	redis_cmd_init(&cmd, "SMEMBERS");
	redis_cmd_buf(&cmd, &key);
	reply = redis_store_command(rs, &cmd, err);
	buf_free(&key);
	if (reply == NULL)
		return -1;
	count = reply->type == REDIS_REPLY_ARRAY ? members_of(reply, &recs) : 0;
	freeReplyObject(reply);
	present = xcalloc(count + 1, sizeof(*present));
	if ((rc = read_states(rs, recs, count, present, err)) == 0) {
		size_t kept = 0;

		for (size_t i = 0; i < count; i++)
			if (present[i] &&
			    (!paused_only || recs[i].state == REPUTATION_STATE_PAUSED))
				recs[kept++] = recs[i];
		qsort(recs, kept, sizeof(*recs), record_order);
		for (size_t i = 0; i < kept; i++)
			fn(&recs[i], arg);
	}
	free(present);
	free(recs);
	return rc;
}

int
reputation_redis_names(struct redis_store *rs, int64_t first_hour, reputation_name_fn fn, void *arg,
                       struct buf *err)
{
	int64_t last = reputation_hour(time(NULL));
	size_t hours = last >= first_hour ? (size_t)(last - first_hour + 1) : 0, count = 0;
	struct buf *keys = xcalloc(hours + 1, sizeof(*keys));
	struct redis_cmd *cmds = xcalloc(hours + 1, sizeof(*cmds));
	redisReply **replies = xcalloc(hours + 1, sizeof(*replies));
	struct reputation_record *all = NULL;
	int rc;

	for (size_t i = 0; i < hours; i++) {
		redis_key_names(&keys[i], redis_store_prefix(rs), first_hour + (int64_t)i);
		redis_cmd_init(&cmds[i], "SMEMBERS");
		redis_cmd_buf(&cmds[i], &keys[i]);
	}
	if ((rc = hours > 0 ? redis_store_run(rs, cmds, hours, replies, err) : 0) == 0) {
		for (size_t i = 0; i < hours; i++) {
			struct reputation_record *some;
			size_t n = replies[i]->type == REDIS_REPLY_ARRAY
			               ? members_of(replies[i], &some)
			               : 0;

			all = xrealloc(all, (count + n + 1) * sizeof(*all));
			if (n > 0)
				memcpy(all + count, some, n * sizeof(*some));
			count += n;
			if (replies[i]->type == REDIS_REPLY_ARRAY)
				free(some);
		}
		redis_replies_free(replies, hours);
		if (count > 0)
			qsort(all, count, sizeof(*all), record_order);
		for (size_t i = 0; i < count; i++)
			if (i == 0 || record_order(&all[i - 1], &all[i]) != 0)
				fn(all[i].kind, all[i].name, arg);
	}
	for (size_t i = 0; i < hours; i++)
		buf_free(&keys[i]);
	free(all);
	free(replies);
	free(cmds);
	free(keys);
	return rc;
}

/* ---------------------------------------------------------------- outbox */

/* LPOP or LPUSH back one announcement (text NULL: pop); the reply. */
static redisReply *
outbox(struct redis_store *rs, const char *word, const char *text, size_t len, struct buf *err)
{
	struct buf key = BUF_INIT;
	struct redis_cmd cmd;
	redisReply *reply;

	redis_key_fixed(&key, redis_store_prefix(rs), "rep-outbox");
	redis_cmd_init(&cmd, word);
	redis_cmd_buf(&cmd, &key);
	if (text != NULL)
		redis_cmd_bytes(&cmd, text, len);
	reply = redis_store_command(rs, &cmd, err);
	buf_free(&key);
	return reply;
}

int
reputation_redis_notes(struct redis_store *rs, reputation_note_fn fn, void *arg, struct buf *err)
{
	for (int taken = 0; taken < 64; taken++) {
		redisReply *r = outbox(rs, "LPOP", NULL, 0, err), *back;
		struct reputation_note note = { .id = taken };
		char *nl;

		if (r == NULL)
			return -1;
		if (r->type != REDIS_REPLY_STRING || (nl = strchr(r->str, '\n')) == NULL) {
			bool empty = r->type == REDIS_REPLY_NIL; /* else not ours: dropped */

			freeReplyObject(r);
			if (empty)
				return 0;
			continue;
		}
		*nl = '\0';
		note.type = r->str;
		note.body = nl + 1;
		if (!fn(&note, arg)) {
			*nl = '\n';
			if ((back = outbox(rs, "LPUSH", r->str, r->len, err)) != NULL)
				freeReplyObject(back);
			freeReplyObject(r);
			return 0;
		}
		freeReplyObject(r);
	}
	return 0;
}
