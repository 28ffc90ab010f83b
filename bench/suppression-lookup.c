/*
 * suppression-lookup - RCPT-time suppression lookup latency, in process
 *
 *   bench/suppression-lookup STORE [-n LOOKUPS] [-w WARMUP] [-c COLD]
 *
 * Opens STORE (a mailward state file with a filled suppression list) the
 * way the milter does, and times suppression_get(), the function
 * milter/suppress.c calls for every outbound recipient: LOOKUPS listed
 * addresses taken at random from the table ("hits") and LOOKUPS addresses
 * that are not there ("misses": each hit with ".absent" added, so they
 * fall all over the table too), one call at a time, first with the
 * store alone, then with the cache the milter starts
 * (suppression_cache_start).  Prints p50, p99 and max in microseconds per
 * kind, and what the cache did.  Then COLD lookups of each kind (default
 * a tenth of LOOKUPS) with the store file dropped from the kernel's page
 * cache before each one (posix_fadvise DONTNEED), as a list much larger
 * than the memory left for it would be: what a lookup costs when the
 * table must be read from disk.  Exits 1 if any lookup gave a wrong
 * answer (a hit not found, a miss found): bench/suppression.sh and the
 * smoke run in tests/e2e/suppression-cli.sh rely on that.
 */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/store.h"
#include "common/suppression.h"
#include "common/suppression_cache.h"
#include "common/xalloc.h"

struct key {
	char address[SUPPRESSION_ADDRESS_MAX + 1];
	char scope[SUPPRESSION_SCOPE_MAX + 1];
};

/* n listed keys at random, read on a connection of our own; how many there were. */
static size_t
sample_hits(const char *path, struct key *keys, size_t n)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	size_t got = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT address, scope FROM suppression ORDER BY random() LIMIT ?1",
	                       -1, &stmt, NULL) != SQLITE_OK) {
		fprintf(stderr, "suppression-lookup: %s: %s\n", path, sqlite3_errmsg(db));
		exit(2);
	}
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)n);
	while (got < n && sqlite3_step(stmt) == SQLITE_ROW) {
		snprintf(keys[got].address, sizeof(keys[got].address), "%s",
		         sqlite3_column_text(stmt, 0));
		snprintf(keys[got].scope, sizeof(keys[got].scope), "%s",
		         sqlite3_column_text(stmt, 1));
		got++;
	}
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return got;
}

/* Unlisted keys spread over the table like the listed ones: each hit with ".absent" added. */
static void
make_misses(const struct key *hits, struct key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char address[sizeof(keys[i].address) + 8];

		snprintf(address, sizeof(address), "%s.absent", hits[i].address);
		if (strlen(address) >= sizeof(keys[i].address))
			snprintf(address, sizeof(address), "absent-%zu@bench.invalid", i);
		memcpy(keys[i].address, address, strlen(address) + 1);
		memcpy(keys[i].scope, hits[i].scope, sizeof(keys[i].scope));
	}
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The store's files out of the kernel's page cache (NULL: nothing to do). */
static void
evict(const char *path)
{
	char wal[4096];
	const char *files[] = { path, wal };

	if (path == NULL)
		return;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int fd = open(files[i], O_RDONLY);

		if (fd >= 0) {
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			close(fd);
		}
	}
}

/* Time one lookup per key (cold: evict path first); the number of wrong answers. */
static size_t
time_lookups(struct store *store, const struct key *keys, size_t n, int expect, double *us,
             const char *cold)
{
	struct suppression_entry e;
	struct buf err = BUF_INIT;
	size_t wrong = 0;

	for (size_t i = 0; i < n; i++) {
		double start;

		evict(cold);
		start = now_us();
		int found = suppression_get(store, keys[i].address, keys[i].scope, &e, &err);

		us[i] = now_us() - start;
		if (found != expect) {
			if (wrong++ < 5)
				fprintf(stderr, "suppression-lookup: %s/%s: %d, wanted %d %s\n",
				        keys[i].address, keys[i].scope, found, expect,
				        buf_str(&err));
		}
	}
	buf_free(&err);
	return wrong;
}

static void
report(const char *what, double *us, size_t n)
{
	qsort(us, n, sizeof(*us), by_value);
	printf("%-28s %9.1f %9.1f %9.1f %9zu\n", what, us[n / 2], us[n * 99 / 100], us[n - 1], n);
}

struct plan {
	const struct key *hits, *misses;
	size_t n, warmup, cold;
	const char *path;
	double *us;
};

/* Warm-up, then hits and misses, then cold ones, reported; the number of wrong answers. */
static size_t
run(struct store *store, const char *label, const struct plan *p)
{
	size_t warm = p->warmup < p->n ? p->warmup : p->n, wrong = 0;
	char what[64];

	time_lookups(store, p->hits, warm, 1, p->us, NULL);
	time_lookups(store, p->misses, warm, 0, p->us, NULL);
	wrong += time_lookups(store, p->hits, p->n, 1, p->us, NULL);
	snprintf(what, sizeof(what), "%s hit", label);
	report(what, p->us, p->n);
	wrong += time_lookups(store, p->misses, p->n, 0, p->us, NULL);
	snprintf(what, sizeof(what), "%s miss", label);
	report(what, p->us, p->n);
	if (p->cold == 0)
		return wrong;
	wrong += time_lookups(store, p->hits, p->cold, 1, p->us, p->path);
	snprintf(what, sizeof(what), "%s hit, cold", label);
	report(what, p->us, p->cold);
	wrong += time_lookups(store, p->misses, p->cold, 0, p->us, p->path);
	snprintf(what, sizeof(what), "%s miss, cold", label);
	report(what, p->us, p->cold);
	return wrong;
}

int
main(int argc, char **argv)
{
	size_t n = 100000, warmup = 10000, cold = (size_t)-1, wrong;
	struct suppression_cache_stats st;
	struct buf err = BUF_INIT;
	struct key *hits, *misses;
	struct store *store;
	struct plan plan;
	double *us;
	int c;

	while ((c = getopt(argc, argv, "n:w:c:")) != -1) {
		if (c == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (c == 'w')
			warmup = strtoul(optarg, NULL, 10);
		else if (c == 'c')
			cold = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (optind != argc - 1 || n == 0) {
		fprintf(stderr, "usage: suppression-lookup STORE [-n LOOKUPS] [-w WARMUP] "
		                "[-c COLD]\n");
		return 2;
	}
	if ((store = store_open(argv[optind], &err)) == NULL) {
		fprintf(stderr, "suppression-lookup: %s\n", buf_str(&err));
		return 2;
	}
	hits = xcalloc(n, sizeof(*hits));
	misses = xcalloc(n, sizeof(*misses));
	us = xcalloc(n, sizeof(*us));
	if ((n = sample_hits(argv[optind], hits, n)) == 0) {
		fprintf(stderr, "suppression-lookup: the suppression list is empty\n");
		return 2;
	}
	make_misses(hits, misses, n);
	plan = (struct plan){ .hits = hits,
		              .misses = misses,
		              .n = n,
		              .warmup = warmup,
		              .cold = cold == (size_t)-1 ? n / 10
		                      : cold < n         ? cold
		                                         : n,
		              .path = argv[optind],
		              .us = us };
	printf("%-28s %9s %9s %9s %9s\n", "suppression_get", "p50 us", "p99 us", "max us",
	       "lookups");
	wrong = run(store, "store only", &plan);
	if (suppression_cache_start(store, &err) < 0) {
		fprintf(stderr, "suppression-lookup: %s\n", buf_str(&err));
		return 2;
	}
	wrong += run(store, "with cache", &plan);
	suppression_cache_stats(store, &st);
	printf("cache: %lu entries read in %.0f ms; %lu of %lu lookups answered from memory; "
	       "current: %s\n",
	       st.entries, st.last_build_ms, st.from_memory, st.lookups, st.current ? "yes" : "no");
	store_close(store);
	free(hits);
	free(misses);
	free(us);
	buf_free(&err);
	if (wrong > 0)
		printf("WRONG ANSWERS: %zu\n", wrong);
	return wrong > 0 ? 1 : 0;
}
