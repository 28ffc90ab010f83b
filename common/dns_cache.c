/*
 * dns_cache - a bounded TTL cache of DNS answers; see dns_cache.h.
 *
 * A hash table of chains under one mutex: the critical section is a hash
 * walk and a copy of a few hundred bytes.  When full, whole chains are
 * dropped, starting where the last eviction stopped, until a tenth of the
 * room is free again: crude, bounded, and rare under a normal mail mix.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/dns_cache.h"
#include "common/dns_impl.h"
#include "common/xalloc.h"

#define BUCKETS 8192
#define MAX_TTL 3600

struct entry {
	struct entry *next;
	char *key; /* "TYPE/name", name lower-case without a trailing dot */
	int64_t expires;
	struct dns_answer ans;
};

struct dns_cache {
	pthread_mutex_t lock;
	struct entry *buckets[BUCKETS];
	size_t count, max;
	size_t evict_at;
};

static int64_t
now_seconds(void)
{
	return dns_now_us() / 1000000;
}

static char *
make_key(const char *name, enum dns_type type, uint32_t *hash)
{
	size_t len = strlen(name);
	char *key;
	uint32_t h = 2166136261u;

	if (len > 0 && name[len - 1] == '.')
		len--;
	key = xmalloc(len + 8);
	int n = snprintf(key, 8, "%u/", (unsigned)type);
	for (size_t i = 0; i < len; i++)
		key[n + i] = (char)tolower((unsigned char)name[i]);
	key[n + len] = '\0';
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	*hash = h;
	return key;
}

static void
answer_copy(struct dns_answer *dst, const struct dns_answer *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->status = src->status;
	dst->secure = src->secure;
	dst->ttl = src->ttl;
	for (size_t i = 0; i < src->count; i++)
		dns_answer_add(dst, src->rr[i].data, src->rr[i].len, src->rr[i].pref);
}

static void
entry_free(struct entry *e)
{
	dns_answer_free(&e->ans);
	free(e->key);
	free(e);
}

struct dns_cache *
dns_cache_new(size_t max_entries)
{
	struct dns_cache *cache = xcalloc(1, sizeof(*cache));

	pthread_mutex_init(&cache->lock, NULL);
	cache->max = max_entries;
	return cache;
}

void
dns_cache_free(struct dns_cache *cache)
{
	if (cache == NULL)
		return;
	for (size_t i = 0; i < BUCKETS; i++)
		while (cache->buckets[i] != NULL) {
			struct entry *e = cache->buckets[i];
			cache->buckets[i] = e->next;
			entry_free(e);
		}
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}

bool
dns_cache_get(struct dns_cache *cache, const char *name, enum dns_type type, struct dns_answer *ans)
{
	uint32_t hash;
	char *key = make_key(name, type, &hash);
	struct entry **pp;
	bool hit = false;

	pthread_mutex_lock(&cache->lock);
	for (pp = &cache->buckets[hash % BUCKETS]; *pp != NULL; pp = &(*pp)->next) {
		struct entry *e = *pp;
		if (strcmp(e->key, key) != 0)
			continue;
		if (e->expires <= now_seconds()) {
			*pp = e->next;
			entry_free(e);
			cache->count--;
		} else {
			answer_copy(ans, &e->ans);
			hit = true;
		}
		break;
	}
	pthread_mutex_unlock(&cache->lock);
	free(key);
	return hit;
}

/* Drop whole chains until there is room for a tenth more.  Lock held. */
static void
evict(struct dns_cache *cache)
{
	size_t target = cache->max - cache->max / 10;

	while (cache->count > target) {
		struct entry **chain = &cache->buckets[cache->evict_at];
		while (*chain != NULL) {
			struct entry *e = *chain;
			*chain = e->next;
			entry_free(e);
			cache->count--;
		}
		cache->evict_at = (cache->evict_at + 1) % BUCKETS;
	}
}

void
dns_cache_put(struct dns_cache *cache, const char *name, enum dns_type type,
              const struct dns_answer *ans)
{
	struct entry *e;
	uint32_t hash;

	if (ans->status == DNS_TEMPFAIL || ans->ttl == 0 || cache->max == 0)
		return;
	e = xcalloc(1, sizeof(*e));
	e->key = make_key(name, type, &hash);
	e->expires = now_seconds() + (ans->ttl < MAX_TTL ? ans->ttl : MAX_TTL);
	answer_copy(&e->ans, ans);
	pthread_mutex_lock(&cache->lock);
	/* A concurrent miss may have put it already: replace. */
	for (struct entry **pp = &cache->buckets[hash % BUCKETS]; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->key, e->key) == 0) {
			struct entry *old = *pp;
			*pp = old->next;
			entry_free(old);
			cache->count--;
			break;
		}
	if (cache->count >= cache->max)
		evict(cache);
	e->next = cache->buckets[hash % BUCKETS];
	cache->buckets[hash % BUCKETS] = e;
	cache->count++;
	pthread_mutex_unlock(&cache->lock);
}
