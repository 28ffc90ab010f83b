/*
 * redis_keys - the names and encodings of mailward's state in Redis
 *
 * Pure functions (no connection): where a fleet's shared state lives in
 * Redis, how a Redis address from the policy is read.  Every key starts
 * with the policy's store.redis_prefix ("mailward:"), so several fleets
 * can share one Redis.  The data model (P is the prefix):
 *
 *   P supp:SCOPE:ADDRESS   hash  reason, time, message_id: one suppression
 *                          entry, read with one HGETALL at RCPT (O(1)).
 *                          ADDRESS lower-cased; SCOPE ("" for the
 *                          account) with '%' and ':' written %25 and %3A,
 *                          so the key reads back unambiguously.
 *   P supp-index           sorted set, every score 0, members
 *                          "ADDRESS\0SCOPE": the list in (address, scope)
 *                          order, the order SQLite lists it in, paged with
 *                          ZRANGEBYLEX after the last member of the
 *                          previous page (the CLI's next-token).
 *   P rep:KIND:NAME:HOUR   hash  sends, bounces, complaints: one hourly
 *                          bucket (HINCRBY), EXPIRE 7 days + 1 hour.
 *   P rep-state:KIND:NAME  hash  state, since, resume_at, reason, base_*
 *   P rep-states           set of "KIND:NAME" with a state hash.
 *   P rep-names:HOUR       set of "KIND:NAME" counted in that hour (the
 *                          daemon's list of names to judge), same EXPIRE.
 *   P rep-outbox           list of announcements (type "\n" body): the
 *                          instance whose LPOP takes one writes its event.
 *   P send:MESSAGE-ID      hash of a Send record, EXPIRE correlation_days.
 */
#ifndef MW_REDIS_KEYS_H
#define MW_REDIS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define REDIS_ADDRESS_HOST_MAX 255
#define REDIS_ADDRESS_PATH_MAX 107

/* Where Redis listens: "HOST:PORT", "[IPv6]:PORT" or "unix:/path". */
struct redis_address {
	bool unix_socket;
	char host[REDIS_ADDRESS_HOST_MAX + 1]; /* or the socket's path */
	int port;
};

/* true, or false with the reason in err (errlen bytes). */
bool redis_address_parse(const char *spec, struct redis_address *out, char *err, size_t errlen);

/* out = prefix "supp:" escaped(scope) ":" address (address already lower-cased). */
void redis_key_suppression(struct buf *out, const char *prefix, const char *address,
                           const char *scope);
/* out = prefix "supp-index". */
void redis_key_suppression_index(struct buf *out, const char *prefix);
/* The index member: address "\0" scope (its length is out->len). */
void redis_member_suppression(struct buf *out, const char *address, const char *scope);
/* Split an index member back; false when it has no separator or is too long. */
bool redis_member_split(const char *member, size_t len, char *address, size_t address_size,
                        char *scope, size_t scope_size);

/* out = prefix "rep:" kind ":" name ":" hour. */
void redis_key_bucket(struct buf *out, const char *prefix, const char *kind, const char *name,
                      int64_t hour);
/* out = prefix "rep-state:" kind ":" name. */
void redis_key_state(struct buf *out, const char *prefix, const char *kind, const char *name);
/* out = prefix what (a fixed name: "rep-states", "rep-outbox"). */
void redis_key_fixed(struct buf *out, const char *prefix, const char *what);
/* out = prefix "rep-names:" hour. */
void redis_key_names(struct buf *out, const char *prefix, int64_t hour);
/* out = prefix "send:" message_id. */
void redis_key_send(struct buf *out, const char *prefix, const char *message_id);

#endif
