/*
 * suppression_cache - a Bloom filter in front of the suppression list; see
 * suppression_cache.h.
 *
 * The filter is blocked: a key's bits all lie in one 512-bit block (one
 * cache line), 7 of them, at about 10 bits per key when full, about 1 %
 * false positives; it is sized for twice the keys it is built with, and a
 * fuller one (own additions) asks for a rebuild at a larger size.
 * Building reads the store connection's data_version first, then the
 * whole list on a connection of its own, in one read transaction that
 * starts after it: the filter holds every key committed as of that
 * version, and this process's additions made meanwhile are added to it
 * before it is swapped in.
 */
#include "config.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/deadline.h"
#include "common/store_impl.h"
#include "common/suppression_cache.h"
#include "common/xalloc.h"

#define BLOCK_WORDS  8 /* 512 bits */
#define BITS_PER_KEY 10
#define MIN_CAPACITY 65536
#define PROBES       7

struct filter {
	uint64_t *words;
	size_t block_mask; /* blocks - 1; blocks is a power of two */
	unsigned long entries, capacity;
};

struct suppression_cache {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	struct store *store;
	char *path;
	struct filter *filter;
	int64_t version; /* the store's data_version the filter is good for; -1 none */
	bool want_rebuild, rebuilding, stopping;
	int64_t building_version; /* the rebuild's; -1 before it has read it */
	unsigned long epoch;      /* bumped by suppression_cache_forget() */
	uint64_t *pending;        /* keys added here while a rebuild reads the list */
	size_t pending_count;
	struct suppression_cache_stats stats;
};

/* The key suppression.c registers the cache under. */
static const char attachment_key;

/* Changes when another connection commits to the file; not by this one's own commits. */
static const char sql_data_version[] = "PRAGMA data_version";

/* ------------------------------------------------------------- filter */

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t
key_hash(const char *address, const char *scope)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)address; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h = (h ^ 0xff) * 0x100000001b3ULL; /* no address byte: keeps "a"+"bc" from "ab"+"c" */
	for (const unsigned char *p = (const unsigned char *)scope; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return mix(h);
}

static struct filter *
filter_new(unsigned long keys)
{
	struct filter *f = xcalloc(1, sizeof(*f));
	size_t blocks = 1;

	f->capacity = keys * 2 > MIN_CAPACITY ? keys * 2 : MIN_CAPACITY;
	while (blocks * BLOCK_WORDS * 64 < (size_t)f->capacity * BITS_PER_KEY)
		blocks *= 2;
	f->words = xcalloc(blocks * BLOCK_WORDS, sizeof(*f->words));
	f->block_mask = blocks - 1;
	return f;
}

static void
filter_free(struct filter *f)
{
	if (f != NULL)
		free(f->words);
	free(f);
}

/* The block from the low bits, each probe's bit from 9 more of a second hash. */
static uint64_t *
filter_block(const struct filter *f, uint64_t hash, uint64_t *bits)
{
	*bits = mix(hash + 0x9e3779b97f4a7c15ULL);
	return f->words + (hash & f->block_mask) * BLOCK_WORDS;
}

static void
filter_add(struct filter *f, uint64_t hash)
{
	uint64_t bits, *block = filter_block(f, hash, &bits);

	for (int i = 0; i < PROBES; i++, bits >>= 9)
		block[(bits & 511) >> 6] |= 1ULL << (bits & 63);
	f->entries++;
}

static bool
filter_has(const struct filter *f, uint64_t hash)
{
	uint64_t bits;
	const uint64_t *block = filter_block(f, hash, &bits);

	for (int i = 0; i < PROBES; i++, bits >>= 9)
		if ((block[(bits & 511) >> 6] & (1ULL << (bits & 63))) == 0)
			return false;
	return true;
}

/* ------------------------------------------------------ reading the list */

static double
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

static long long
single_integer(sqlite3 *db, const char *sql, int *rc)
{
	sqlite3_stmt *stmt;
	long long value = -1;

	*rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	if (*rc != SQLITE_OK)
		return -1;
	if ((*rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		value = sqlite3_column_int64(stmt, 0);
		*rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return value;
}

/* The store connection's data_version, with the store's lock held; -1 on error. */
static int
data_version(struct store *store, int64_t *out)
{
	sqlite3_stmt *stmt = store_statement(store, sql_data_version, NULL);
	int rc;

	if (stmt == NULL)
		return -1;
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Every key into a new filter, in the read transaction the caller began. */
static int
read_keys(sqlite3 *db, struct filter **out)
{
	sqlite3_stmt *stmt;
	long long count;
	int rc;

	count = single_integer(db, "SELECT count(*) FROM suppression", &rc);
	if (rc != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_prepare_v2(db, "SELECT address, scope FROM suppression", -1, &stmt,
	                             NULL)) != SQLITE_OK)
		return rc;
	*out = filter_new((unsigned long)count);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		filter_add(*out, key_hash((const char *)sqlite3_column_text(stmt, 0),
		                          (const char *)sqlite3_column_text(stmt, 1)));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		filter_free(*out);
		*out = NULL;
		return rc;
	}
	return SQLITE_OK;
}

/*
 * A filter of the whole list, good for the store connection's data_version
 * (*version) read first: the read transaction on the cache's own
 * connection starts after it, so it sees every commit that version counts.
 * NULL with the reason in err.
 */
static struct filter *
build(struct suppression_cache *cache, int64_t *version, struct buf *err)
{
	sqlite3 *db = NULL;
	struct filter *f = NULL;
	int rc;

	store_lock(cache->store);
	rc = data_version(cache->store, version);
	store_unlock(cache->store);
	if (rc < 0) {
		buf_printf(err, "%s: cannot read data_version", cache->path);
		return NULL;
	}
	pthread_mutex_lock(&cache->lock);
	cache->building_version = *version;
	pthread_mutex_unlock(&cache->lock);
	rc = sqlite3_open_v2(cache->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = read_keys(db, &f);
	if (rc != SQLITE_OK)
		buf_printf(err, "%s: reading the suppression list: %s", cache->path,
		           db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	if (db != NULL)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return f;
}

/* Swap a new filter in, with this process's additions made meanwhile; its entries. */
static unsigned long
install(struct suppression_cache *cache, struct filter *f, int64_t version, unsigned long epoch,
        double ms)
{
	struct filter *old;
	unsigned long entries;

	pthread_mutex_lock(&cache->lock);
	if (epoch != cache->epoch)
		version = -1; /* this process wrote many keys meanwhile: read again */
	for (size_t i = 0; i < cache->pending_count; i++)
		filter_add(f, cache->pending[i]);
	cache->pending_count = 0;
	old = cache->filter;
	cache->filter = f;
	cache->version = version;
	entries = cache->stats.entries = f->entries;
	cache->stats.last_build_ms = ms;
	pthread_mutex_unlock(&cache->lock);
	filter_free(old);
	return entries;
}

/* A second before trying again (lock held), so a broken file is not read in a loop. */
static void
pause_after_failure(struct suppression_cache *cache)
{
	struct timespec until;

	deadline_after_ms(&until, 1000);
	while (!cache->stopping && pthread_cond_timedwait(&cache->wake, &cache->lock, &until) == 0)
		;
}

static void *
rebuild_thread(void *arg)
{
	struct suppression_cache *cache = arg;

	pthread_mutex_lock(&cache->lock);
	for (;;) {
		struct buf err = BUF_INIT;
		struct timespec start;
		struct filter *f;
		int64_t version;
		unsigned long epoch;

		while (!cache->want_rebuild && !cache->stopping)
			pthread_cond_wait(&cache->wake, &cache->lock);
		if (cache->stopping)
			break;
		cache->want_rebuild = false;
		cache->rebuilding = true;
		cache->building_version = -1;
		cache->pending_count = 0;
		epoch = cache->epoch;
		pthread_mutex_unlock(&cache->lock);
		clock_gettime(CLOCK_MONOTONIC, &start);
		if ((f = build(cache, &version, &err)) != NULL) {
			double ms = elapsed_ms(&start);

			log_info(NULL, "suppression cache: %lu entries read again in %.0f ms",
			         install(cache, f, version, epoch, ms), ms);
		} else
			log_warning(NULL, "suppression cache: %s (lookups read the table)",
			            buf_str(&err));
		buf_free(&err);
		pthread_mutex_lock(&cache->lock);
		cache->rebuilding = false;
		if (f != NULL)
			cache->stats.rebuilds++;
		else
			pause_after_failure(cache);
	}
	pthread_mutex_unlock(&cache->lock);
	return NULL;
}

/* --------------------------------------------------------- public side */

static void
cache_release(void *object)
{
	struct suppression_cache *cache = object;

	pthread_mutex_lock(&cache->lock);
	cache->stopping = true;
	pthread_cond_signal(&cache->wake);
	pthread_mutex_unlock(&cache->lock);
	pthread_join(cache->thread, NULL);
	filter_free(cache->filter);
	free(cache->pending);
	free(cache->path);
	pthread_cond_destroy(&cache->wake);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}

int
suppression_cache_start(struct store *store, struct buf *err)
{
	struct suppression_cache *cache = xcalloc(1, sizeof(*cache));
	struct timespec start;
	struct filter *f;
	unsigned long entries;
	int64_t version;
	double ms;

	if (store_redis(store) !=
	    NULL) { /* Redis answers each lookup itself (suppression_redis.h) */
		free(cache);
		return 0;
	}
	pthread_mutex_init(&cache->lock, NULL);
	pthread_cond_init(&cache->wake, NULL);
	cache->store = store;
	cache->path = xstrdup(store_path(store));
	clock_gettime(CLOCK_MONOTONIC, &start);
	if ((f = build(cache, &version, err)) == NULL) {
		pthread_cond_destroy(&cache->wake);
		pthread_mutex_destroy(&cache->lock);
		free(cache->path);
		free(cache);
		return -1;
	}
	ms = elapsed_ms(&start);
	entries = install(cache, f, version, 0, ms);
	cache->stats.running = true;
	if (pthread_create(&cache->thread, NULL, rebuild_thread, cache) != 0)
		log_panic("suppression cache: cannot start a thread");
	store_attach(store, &attachment_key, cache, cache_release);
	log_info(NULL, "suppression cache: %lu entries read in %.0f ms", entries, ms);
	return 0;
}

struct suppression_cache *
suppression_cache_of(struct store *store)
{
	return store_attachment(store, &attachment_key);
}

/* Ask the thread for a new filter unless the one it reads will do. */
static void
want_rebuild(struct suppression_cache *cache, int64_t now)
{
	if (cache->rebuilding && (cache->building_version < 0 || cache->building_version == now))
		return;
	cache->want_rebuild = true;
	pthread_cond_signal(&cache->wake);
}

int
suppression_cache_maybe(struct suppression_cache *cache, struct store *store, const char *address,
                        const char *scope)
{
	uint64_t hash = key_hash(address, scope);
	int64_t now;
	int maybe = 1;

	if (data_version(store, &now) < 0)
		return 1; /* the table will say what is wrong */
	pthread_mutex_lock(&cache->lock);
	cache->stats.lookups++;
	if (cache->filter != NULL && cache->version == now) {
		maybe = filter_has(cache->filter, hash);
		cache->stats.from_memory += !maybe;
	} else {
		want_rebuild(cache, now);
	}
	pthread_mutex_unlock(&cache->lock);
	return maybe;
}

void
suppression_cache_added(struct suppression_cache *cache, const char *address, const char *scope)
{
	uint64_t hash = key_hash(address, scope);

	pthread_mutex_lock(&cache->lock);
	if (cache->filter != NULL) {
		filter_add(cache->filter, hash);
		cache->stats.entries = cache->filter->entries;
		if (cache->filter->entries > cache->filter->capacity)
			want_rebuild(cache, cache->version);
	}
	if (cache->rebuilding) {
		cache->pending =
		    xgrow(cache->pending, cache->pending_count, sizeof(*cache->pending));
		cache->pending[cache->pending_count++] = hash;
	}
	pthread_mutex_unlock(&cache->lock);
}

void
suppression_cache_forget(struct suppression_cache *cache)
{
	pthread_mutex_lock(&cache->lock);
	cache->version = -1;
	cache->epoch++; /* a rebuild reading now may have missed it */
	cache->want_rebuild = true;
	pthread_cond_signal(&cache->wake);
	pthread_mutex_unlock(&cache->lock);
}

void
suppression_cache_stats(struct store *store, struct suppression_cache_stats *out)
{
	struct suppression_cache *cache = suppression_cache_of(store);
	int64_t now = -1;

	memset(out, 0, sizeof(*out));
	if (cache == NULL)
		return;
	store_lock(store);
	data_version(store, &now);
	pthread_mutex_lock(&cache->lock);
	*out = cache->stats;
	out->current = cache->filter != NULL && cache->version == now;
	pthread_mutex_unlock(&cache->lock);
	store_unlock(store);
}
