/*
 * test_spool - the event spool never shows a half-written event and never
 * leaves debris
 *
 * Every test works in its own mkdtemp() directory (removed in teardown).
 * Threads never call cmocka assertions: they record what they saw and the
 * test thread asserts on it afterwards.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/spool.h"
#include "common/spool_journal.h"
#include "tests/unit/unit.h"

static const char *const durability_names[] = {
	[SPOOL_DURABILITY_FSYNC] = "fsync",
	[SPOOL_DURABILITY_NONE] = "none",
};

/* ------------------------------------------------------------ fake clock */

/*
 * spool_make_name() reads gettimeofday(); this definition in the test
 * executable takes its place, so a test can freeze the clock and produce
 * names that share the same second and microsecond.  Unfrozen, it is the
 * real clock.
 */
static bool clock_frozen;
static struct timeval frozen_now;

int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	(void)tz;
	if (clock_frozen) {
		*tv = frozen_now;
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

/* --------------------------------------------------------------- fixture */

struct fixture {
	char root[64];   /* the mkdtemp() directory */
	char spool[128]; /* root/spool, not created */
	mode_t umask_saved;
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->root, sizeof(fx->root), "/tmp/mw-spool-XXXXXX");
	if (mkdtemp(fx->root) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->spool, sizeof(fx->spool), "%s/spool", fx->root);
	/* Modes are asserted: make them independent of the caller's umask. */
	fx->umask_saved = umask(022);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	umask(fx->umask_saved);
	unit_remove_tree(fx->root);
	free(fx);
	return 0;
}

/* --------------------------------------------------------------- helpers */

static void
path_of(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);
	assert_true(n > 0 && (size_t)n < outlen);
}

static bool
is_entry(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* Entries of DIR/sub, or -1 when it cannot be read (e.g. it is gone). */
static long
count_entries(const char *dir, const char *sub)
{
	char path[256];
	struct dirent *d;
	long n = 0;
	DIR *dp;

	path_of(path, sizeof(path), dir, sub);
	if ((dp = opendir(path)) == NULL)
		return -1;
	while ((d = readdir(dp)) != NULL)
		n += is_entry(d);
	closedir(dp);
	return n;
}

/* The path of the lowest-numbered journal file (the one in use), into out. */
static void
first_journal(const char *dir, char *out, size_t outlen)
{
	char jdir[256], lowest[256] = "";
	struct dirent *d;
	DIR *dp;

	path_of(jdir, sizeof(jdir), dir, "journal");
	assert_non_null(dp = opendir(jdir));
	while ((d = readdir(dp)) != NULL)
		if (is_entry(d) && (lowest[0] == '\0' || strcmp(d->d_name, lowest) < 0))
			snprintf(lowest, sizeof(lowest), "%s", d->d_name);
	closedir(dp);
	assert_true(lowest[0] != '\0');
	path_of(out, outlen, jdir, lowest);
}

/* Delete every file in path (a consumer that took them all). */
static void
remove_all_in(const char *path)
{
	struct dirent *d;
	DIR *dp;

	assert_non_null(dp = opendir(path));
	while ((d = readdir(dp)) != NULL)
		if (is_entry(d))
			assert_int_equal(unlinkat(dirfd(dp), d->d_name, 0), 0);
	closedir(dp);
}

static int
filter_entries(const struct dirent *d)
{
	return is_entry(d);
}

/* Byte order, the order a consumer that sorts names sees. */
static int
compare_bytes(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whole file; NULL when it cannot be read.  Caller frees. */
static char *
slurp(const char *path, size_t *len)
{
	struct buf b = BUF_INIT;
	char chunk[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	buf_append(&b, "", 0);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(fd);
	if (n < 0) {
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.data;
}

static void
assert_file_holds(const char *dir, const char *name, const char *data, size_t len)
{
	char path[256];
	size_t got_len = 0;
	char *got;

	path_of(path, sizeof(path), dir, name);
	got = slurp(path, &got_len);
	if (got == NULL)
		fail_msg("%s: cannot read: %s", path, strerror(errno));
	if (got_len != len)
		fail_msg("%s: %zu bytes, wrote %zu", path, got_len, len);
	if (len > 0 && memcmp(got, data, len) != 0)
		fail_msg("%s: content differs from what was written", path);
	free(got);
}

static long
open_fd_count(void)
{
	return count_entries("/proc/self", "fd");
}

static struct spool *
open_or_fail(const char *dir, enum spool_durability durability)
{
	struct buf err = BUF_INIT;
	struct spool *spool = spool_open(dir, durability, &err);

	if (spool == NULL)
		fail_msg("spool_open(%s): %s", dir, buf_str(&err));
	buf_free(&err);
	return spool;
}

/* ------------------------------------------------------------ spool_open */

static void
spool_open_creates_tmp_new_cur_with_mode_0750(void **state)
{
	static const char *const dirs[] = { "", "/tmp", "/new", "/cur" };
	struct fixture *fx = *state;
	struct spool *spool = open_or_fail(fx->spool, SPOOL_DURABILITY_FSYNC);

	assert_string_equal(spool_dir(spool), fx->spool);
	for (size_t i = 0; i < ARRAY_LEN(dirs); i++) {
		char path[256];
		struct stat st;
		snprintf(path, sizeof(path), "%s%s", fx->spool, dirs[i]);
		if (stat(path, &st) < 0)
			fail_msg("%s: %s", path, strerror(errno));
		assert_true(S_ISDIR(st.st_mode));
		if ((st.st_mode & 07777) != 0750)
			fail_msg("%s: mode %o, expected 750", path, (unsigned)(st.st_mode & 07777));
		if (i > 0)
			assert_int_equal(count_entries(path, "."), 0);
	}
	spool_close(spool);
}

static void
spool_open_is_idempotent_and_keeps_existing_events(void **state)
{
	struct fixture *fx = *state;
	char first[SPOOL_NAME_MAX], second[SPOOL_NAME_MAX];
	struct spool *spool = open_or_fail(fx->spool, SPOOL_DURABILITY_FSYNC);

	assert_int_equal(spool_write(spool, "{\"n\":1}\n", 8, first), 0);
	spool_close(spool);

	spool = open_or_fail(fx->spool, SPOOL_DURABILITY_FSYNC);
	assert_int_equal(count_entries(fx->spool, "new"), 1);
	assert_int_equal(spool_write(spool, "{\"n\":2}\n", 8, second), 0);
	spool_close(spool);

	/* A third open on a layout that is complete and populated. */
	spool_close(open_or_fail(fx->spool, SPOOL_DURABILITY_NONE));
	assert_string_not_equal(first, second);
	assert_int_equal(count_entries(fx->spool, "new"), 2);
	assert_int_equal(count_entries(fx->spool, "tmp"), 0);
	assert_int_equal(count_entries(fx->spool, "cur"), 0);
	char new_dir[256];
	path_of(new_dir, sizeof(new_dir), fx->spool, "new");
	assert_file_holds(new_dir, first, "{\"n\":1}\n", 8);
	assert_file_holds(new_dir, second, "{\"n\":2}\n", 8);
}

enum prepare {
	PREPARE_NOTHING,
	PREPARE_REGULAR_FILE,     /* root/file is a regular file */
	PREPARE_SPOOL_FILE_IN_AS, /* root/spool exists with a regular file named sub */
};

struct open_failure_case {
	const char *what;
	enum prepare prepare;
	const char *sub;    /* PREPARE_SPOOL_FILE_IN_AS: which subdirectory is a file */
	const char *dir;    /* relative to root, "" for the empty path */
	const char *reason; /* substrings the error must hold, "|"-separated */
};

/*
 * As root, permissions do not stop mkdir(), so the failures come from paths
 * that cannot be directories.
 */
static const struct open_failure_case open_failure_cases[] = {
	{ "parent missing", PREPARE_NOTHING, NULL, "missing/spool",
	  "cannot create spool directory|/missing/spool|No such file or directory" },
	{ "parent is a regular file", PREPARE_REGULAR_FILE, NULL, "file/spool",
	  "cannot create spool directory|/file/spool|Not a directory" },
	{ "spool path is a regular file", PREPARE_REGULAR_FILE, NULL, "file",
	  "cannot create|/file/tmp|Not a directory" },
	{ "empty path", PREPARE_NOTHING, NULL, "",
	  "cannot create spool directory|No such file or directory" },
	{ "new is a regular file", PREPARE_SPOOL_FILE_IN_AS, "new", "spool",
	  "cannot open spool directory|/spool/new|Not a directory" },
	{ "tmp is a regular file", PREPARE_SPOOL_FILE_IN_AS, "tmp", "spool",
	  "cannot open spool directory|/spool/tmp|Not a directory" },
};

static void
make_regular_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);

	if (fd < 0)
		fail_msg("%s: %s", path, strerror(errno));
	close(fd);
}

static void
prepare_open_failure(const struct fixture *fx, const struct open_failure_case *c)
{
	char path[256];

	if (c->prepare == PREPARE_REGULAR_FILE) {
		path_of(path, sizeof(path), fx->root, "file");
		make_regular_file(path);
	} else if (c->prepare == PREPARE_SPOOL_FILE_IN_AS) {
		static const char *const subs[] = { "tmp", "new", "cur" };
		assert_int_equal(mkdir(fx->spool, 0750), 0);
		for (size_t i = 0; i < ARRAY_LEN(subs); i++) {
			path_of(path, sizeof(path), fx->spool, subs[i]);
			if (strcmp(subs[i], c->sub) == 0)
				make_regular_file(path);
			else
				assert_int_equal(mkdir(path, 0750), 0);
		}
	}
}

/* Whether err holds every "|"-separated part of want; the first missing in missing. */
static bool
holds_all(const char *err, const char *want, char *missing, size_t missing_len)
{
	char parts[256];
	char *save = NULL;

	snprintf(parts, sizeof(parts), "%s", want);
	for (char *p = strtok_r(parts, "|", &save); p != NULL; p = strtok_r(NULL, "|", &save)) {
		if (strstr(err, p) == NULL) {
			snprintf(missing, missing_len, "%s", p);
			return false;
		}
	}
	return true;
}

static void
spool_open_fails_with_reason_when_layout_cannot_exist(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < ARRAY_LEN(open_failure_cases); i++) {
		const struct open_failure_case *c = &open_failure_cases[i];
		struct buf err = BUF_INIT;
		char dir[256], missing[256] = "";
		long fds_before;
		struct spool *spool;

		/* Each case in a clean root. */
		unit_remove_tree(fx->root);
		assert_int_equal(mkdir(fx->root, 0700), 0);
		prepare_open_failure(fx, c);
		if (*c->dir == '\0')
			dir[0] = '\0';
		else
			path_of(dir, sizeof(dir), fx->root, c->dir);

		fds_before = open_fd_count();
		spool = spool_open(dir, SPOOL_DURABILITY_FSYNC, &err);
		if (spool != NULL)
			fail_msg("%s: spool_open(\"%s\") succeeded", c->what, dir);
		if (open_fd_count() != fds_before)
			fail_msg("%s: spool_open leaked a descriptor", c->what);
		bool ok = holds_all(buf_str(&err), c->reason, missing, sizeof(missing));
		if (!ok)
			fail_msg("%s: error \"%s\" lacks \"%s\"", c->what, buf_str(&err), missing);
		buf_free(&err);
	}
}

/* ----------------------------------------------------------- spool_write */

struct payload {
	const char *what;
	const char *data; /* NULL: len bytes of a generated pattern */
	size_t len;
};

#define P(what, literal)                                                                           \
	{                                                                                          \
		what, literal, sizeof(literal) - 1                                                 \
	}

static const struct payload payloads[] = {
	P("one-line JSON event",
	  "{\"eventType\":\"Send\",\"mail\":{\"source\":\"a@example.com\"}}\n"),
	P("UTF-8 text", "{\"subject\":\"Gr\xc3\xbc\xc3\x9f"
	                "e \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"}\n"),
	P("binary with NUL, 0xff, CR LF", "\0\x01\xff\xfe\r\n\0\x80\x7f\0"),
	P("invalid UTF-8 bytes", "\xe9\xc0\xaf\xed\xa0\x80"),
	P("a single newline", "\n"),
	P("empty", ""),
	{ "300000 generated bytes", NULL, 300000 },
};

static char *
payload_bytes(const struct payload *p)
{
	char *data = malloc(p->len + 1);

	assert_non_null(data);
	if (p->data != NULL)
		memcpy(data, p->data, p->len);
	else
		for (size_t i = 0; i < p->len; i++)
			data[i] = (char)(i * 31 + i / 251);
	return data;
}

static void
spool_write_stores_exact_bytes_in_new_and_leaves_tmp_empty(void **state)
{
	struct fixture *fx = *state;

	for (int d = SPOOL_DURABILITY_FSYNC; d <= SPOOL_DURABILITY_NONE; d++) {
		char dir[256], new_dir[256], names[ARRAY_LEN(payloads)][SPOOL_NAME_MAX];
		struct spool *spool;

		path_of(dir, sizeof(dir), fx->root, durability_names[d]);
		path_of(new_dir, sizeof(new_dir), dir, "new");
		spool = open_or_fail(dir, (enum spool_durability)d);
		for (size_t i = 0; i < ARRAY_LEN(payloads); i++) {
			char *data = payload_bytes(&payloads[i]);
			if (spool_write(spool, data, payloads[i].len, names[i]) != 0)
				fail_msg("%s, %s: spool_write: %s", durability_names[d],
				         payloads[i].what, strerror(errno));
			assert_int_equal(count_entries(dir, "tmp"), 0);
			assert_file_holds(new_dir, names[i], data, payloads[i].len);
			for (size_t j = 0; j < i; j++)
				assert_string_not_equal(names[i], names[j]);

			char path[256];
			struct stat st;
			path_of(path, sizeof(path), new_dir, names[i]);
			assert_int_equal(stat(path, &st), 0);
			assert_true(S_ISREG(st.st_mode));
			assert_int_equal(st.st_mode & 07777, 0640);
			free(data);
		}
		spool_close(spool);
		assert_int_equal(count_entries(dir, "new"), (long)ARRAY_LEN(payloads));
		assert_int_equal(count_entries(dir, "tmp"), 0);
		assert_int_equal(count_entries(dir, "cur"), 0);
	}
}

/* "SECONDS.MICROS.PPID_SEQ.json": PID after a literal P, MICROS six digits. */
struct spool_name {
	long long sec;
	long usec;
	long pid;
	unsigned long long seq;
};

static bool
digits(const char **p, size_t min, size_t max, unsigned long long *out)
{
	size_t n = 0;

	*out = 0;
	while (**p >= '0' && **p <= '9' && n < max) {
		*out = *out * 10 + (unsigned long long)(**p - '0');
		(*p)++;
		n++;
	}
	return n >= min;
}

static bool
literal(const char **p, const char *text)
{
	size_t n = strlen(text);

	if (strncmp(*p, text, n) != 0)
		return false;
	*p += n;
	return true;
}

static bool
spool_name_parse(const char *name, struct spool_name *out)
{
	const char *p = name;
	unsigned long long sec, usec, pid;

	if (!digits(&p, 1, 19, &sec) || !literal(&p, ".") || !digits(&p, 6, 6, &usec) ||
	    !literal(&p, ".P") || !digits(&p, 1, 19, &pid) || !literal(&p, "_") ||
	    !digits(&p, 1, 20, &out->seq) || !literal(&p, ".json") || *p != '\0')
		return false;
	out->sec = (long long)sec;
	out->usec = (long)usec;
	out->pid = (long)pid;
	return true;
}

struct order_case {
	const char *what;
	enum spool_durability durability;
	bool frozen; /* every name gets the same second and microsecond */
	size_t writes;
};

static const struct order_case order_cases[] = {
	{ "fsync, real clock", SPOOL_DURABILITY_FSYNC, false, 60 },
	{ "none, real clock", SPOOL_DURABILITY_NONE, false, 300 },
	{ "none, 12 writes in one microsecond", SPOOL_DURABILITY_NONE, true, 12 },
};

static void
check_name_order(const struct order_case *c, char (*names)[SPOOL_NAME_MAX],
                 const struct timeval *before, const struct timeval *after, const char *new_dir)
{
	struct spool_name prev = { 0 }, cur = { 0 };
	bool byte_order_is_write_order = true;
	size_t ties = 0;

	for (size_t i = 0; i < c->writes; i++, prev = cur) {
		if (!spool_name_parse(names[i], &cur))
			fail_msg("%s: name \"%s\" is not SECONDS.MICROS.PPID_SEQ.json", c->what,
			         names[i]);
		assert_int_equal(cur.pid, (long)getpid());
		assert_in_range(cur.usec, 0, 999999);
		assert_in_range(cur.sec, before->tv_sec, after->tv_sec);
		if (i == 0)
			continue;
		/* Write order: the sequence counts up, the clock never goes back. */
		assert_int_equal(cur.seq, prev.seq + 1);
		assert_true(cur.sec > prev.sec || (cur.sec == prev.sec && cur.usec >= prev.usec));
		if (cur.sec != prev.sec || cur.usec != prev.usec)
			assert_true(strcmp(names[i - 1], names[i]) < 0);
		else if (ties++, strcmp(names[i - 1], names[i]) >= 0)
			byte_order_is_write_order = false;
	}

	/* A consumer sorting new/ by name sees the events in write order. */
	struct dirent **listed;
	int n = scandir(new_dir, &listed, filter_entries, compare_bytes);
	assert_int_equal(n, (int)c->writes);
	for (int i = 0; i < n; i++) {
		if (strcmp(listed[i]->d_name, names[i]) != 0)
			byte_order_is_write_order = false;
		free(listed[i]);
	}
	free(listed);

	if (c->frozen)
		assert_int_equal(ties, c->writes - 1);
	if (!byte_order_is_write_order)
		fail_msg("%s: sorted names are not in write order (%zu same-microsecond pairs)",
		         c->what, ties);
}

static void
spool_names_parse_and_sort_in_write_order(void **state)
{
	struct fixture *fx = *state;

	for (size_t k = 0; k < ARRAY_LEN(order_cases); k++) {
		const struct order_case *c = &order_cases[k];
		char dir[256], new_dir[256], (*names)[SPOOL_NAME_MAX];
		struct timeval before, after;
		struct spool *spool;

		snprintf(dir, sizeof(dir), "%s/order%zu", fx->root, k);
		path_of(new_dir, sizeof(new_dir), dir, "new");
		names = calloc(c->writes, SPOOL_NAME_MAX);
		assert_non_null(names);
		spool = open_or_fail(dir, c->durability);

		gettimeofday(&before, NULL);
		frozen_now = before;
		clock_frozen = c->frozen;
		for (size_t i = 0; i < c->writes; i++) {
			char data[64];
			int len = snprintf(data, sizeof(data), "{\"write\":%zu}\n", i);
			if (spool_write(spool, data, (size_t)len, names[i]) != 0) {
				clock_frozen = false;
				fail_msg("%s: write %zu: %s", c->what, i, strerror(errno));
			}
		}
		clock_frozen = false;
		gettimeofday(&after, NULL);
		spool_close(spool);

		check_name_order(c, names, &before, &after, new_dir);
		free(names);
	}
}

/* ------------------------------------------------------------ concurrency */

#define WRITER_THREADS    8
#define WRITES_PER_THREAD 200

struct writer {
	pthread_t thread;
	struct spool *spool;
	int id;
	int failures;
	int first_errno;
	char names[WRITES_PER_THREAD][SPOOL_NAME_MAX];
};

/* Distinct per thread and event, of varying length. */
static size_t
writer_payload(int thread, int event, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "{\"thread\":%d,\"event\":%d,\"pad\":\"%.*s\"}\n", thread,
	                 event, (thread * 7 + event) % 97,
	                 "................................................................"
	                 "....................................");
	return (size_t)n;
}

static void *
writer_run(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < WRITES_PER_THREAD; i++) {
		char data[256];
		size_t len = writer_payload(w->id, i, data, sizeof(data));
		if (spool_write(w->spool, data, len, w->names[i]) != 0) {
			if (w->failures++ == 0)
				w->first_errno = errno;
		}
	}
	return NULL;
}

static void
spool_write_from_8_threads_keeps_every_event_intact(void **state)
{
	struct fixture *fx = *state;

	for (int d = SPOOL_DURABILITY_FSYNC; d <= SPOOL_DURABILITY_NONE; d++) {
		struct writer *writers = calloc(WRITER_THREADS, sizeof(*writers));
		char *all[WRITER_THREADS * WRITES_PER_THREAD];
		char dir[256], new_dir[256];
		struct spool *spool;
		size_t n = 0;

		assert_non_null(writers);
		path_of(dir, sizeof(dir), fx->root, durability_names[d]);
		path_of(new_dir, sizeof(new_dir), dir, "new");
		spool = open_or_fail(dir, (enum spool_durability)d);
		for (int t = 0; t < WRITER_THREADS; t++) {
			writers[t].spool = spool;
			writers[t].id = t;
			assert_int_equal(
			    pthread_create(&writers[t].thread, NULL, writer_run, &writers[t]), 0);
		}
		for (int t = 0; t < WRITER_THREADS; t++)
			assert_int_equal(pthread_join(writers[t].thread, NULL), 0);
		spool_close(spool);

		for (int t = 0; t < WRITER_THREADS; t++) {
			if (writers[t].failures != 0)
				fail_msg("%s: thread %d: %d writes failed, first: %s",
				         durability_names[d], t, writers[t].failures,
				         strerror(writers[t].first_errno));
			for (int i = 0; i < WRITES_PER_THREAD; i++) {
				char data[256];
				size_t len = writer_payload(t, i, data, sizeof(data));
				assert_file_holds(new_dir, writers[t].names[i], data, len);
				all[n++] = writers[t].names[i];
			}
		}
		qsort(all, n, sizeof(all[0]), compare_strings);
		for (size_t i = 1; i < n; i++)
			if (strcmp(all[i - 1], all[i]) == 0)
				fail_msg("%s: name %s given twice", durability_names[d], all[i]);
		assert_int_equal(count_entries(dir, "new"), WRITER_THREADS * WRITES_PER_THREAD);
		assert_int_equal(count_entries(dir, "tmp"), 0);
		free(writers);
	}
}

/* --------------------------------------------------------------- failure */

enum failure_kind {
	FAIL_NEW_REMOVED,     /* new/ removed after spool_open: the rename fails */
	FAIL_FILE_SIZE_LIMIT, /* RLIMIT_FSIZE below the payload: write() fails */
};

struct failure_case {
	const char *what;
	enum failure_kind kind;
	enum spool_durability durability;
	int expected_errno;
};

static const struct failure_case failure_cases[] = {
	/* ENOENT from a rename, EPERM or ENOENT from linking into a removed directory */
	{ "new/ removed, none", FAIL_NEW_REMOVED, SPOOL_DURABILITY_NONE, 0 },
	{ "file size limit, fsync", FAIL_FILE_SIZE_LIMIT, SPOOL_DURABILITY_FSYNC, EFBIG },
	{ "file size limit, none", FAIL_FILE_SIZE_LIMIT, SPOOL_DURABILITY_NONE, EFBIG },
};

#define FSIZE_LIMIT 4096

/* Under RLIMIT_FSIZE with SIGXFSZ ignored; both restored before returning. */
static void
write_under_size_limit(struct spool *spool, const char *data, size_t len, char *name, int *rc,
                       int *err)
{
	struct rlimit saved, limited;
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old_action;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	limited = saved;
	limited.rlim_cur = FSIZE_LIMIT;
	sigemptyset(&ignore.sa_mask);
	assert_int_equal(sigaction(SIGXFSZ, &ignore, &old_action), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &limited), 0);
	errno = 0;
	*rc = spool_write(spool, data, len, name);
	*err = errno;
	setrlimit(RLIMIT_FSIZE, &saved);
	sigaction(SIGXFSZ, &old_action, NULL);
}

static void
spool_write_failure_returns_error_and_leaves_nothing_behind(void **state)
{
	struct fixture *fx = *state;
	static char big[3 * FSIZE_LIMIT];

	memset(big, 'x', sizeof(big));
	for (size_t i = 0; i < ARRAY_LEN(failure_cases); i++) {
		const struct failure_case *c = &failure_cases[i];
		char dir[256], sub[256], name[SPOOL_NAME_MAX] = "";
		struct spool *spool;
		int rc, err;

		snprintf(dir, sizeof(dir), "%s/failure%zu", fx->root, i);
		spool = open_or_fail(dir, c->durability);
		if (c->kind == FAIL_NEW_REMOVED) {
			path_of(sub, sizeof(sub), dir, "new");
			assert_int_equal(rmdir(sub), 0);
			errno = 0;
			rc = spool_write(spool, "{}\n", 3, name);
			err = errno;
		} else {
			/* Under the limit is fine (the journal record too); over it is not. */
			write_under_size_limit(spool, big, FSIZE_LIMIT - 200, name, &rc, &err);
			if (rc != 0)
				fail_msg("%s: %d bytes under a %d-byte limit: %s", c->what,
				         FSIZE_LIMIT - 200, FSIZE_LIMIT, strerror(err));
			write_under_size_limit(spool, big, FSIZE_LIMIT + 1, name, &rc, &err);
		}
		if (rc != -1)
			fail_msg("%s: spool_write returned %d, expected -1", c->what, rc);
		if (c->expected_errno == 0 ? err == 0 : err != c->expected_errno)
			fail_msg("%s: errno %d (%s), expected %d (%s)", c->what, err, strerror(err),
			         c->expected_errno, strerror(c->expected_errno));
		assert_int_equal(count_entries(dir, "tmp"), 0);
		assert_int_equal(count_entries(dir, "cur"), 0);
		assert_int_equal(count_entries(dir, "new"), c->kind == FAIL_NEW_REMOVED ? -1 : 1);

		/* The failure left no state behind: the next write within the limit works. */
		if (c->kind == FAIL_FILE_SIZE_LIMIT) {
			assert_int_equal(spool_write(spool, big, sizeof(big), name), 0);
			assert_int_equal(count_entries(dir, "new"), 2);
			assert_int_equal(count_entries(dir, "tmp"), 0);
		}
		spool_close(spool);
	}
}

/*
 * With a journal, an event is durable before it has its file: new/ gone
 * does not fail the write, and the next start publishes the event.
 */
static void
spool_fsync_event_survives_an_unpublishable_new_dir(void **state)
{
	struct fixture *fx = *state;
	char sub[256], name[SPOOL_NAME_MAX] = "";
	struct spool *spool = open_or_fail(fx->spool, SPOOL_DURABILITY_FSYNC);

	path_of(sub, sizeof(sub), fx->spool, "new");
	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(spool_write(spool, "{\"kept\":1}\n", 11, name), 0);
	spool_close(spool);
	assert_int_equal(mkdir(sub, 0750), 0);
	spool = open_or_fail(fx->spool, SPOOL_DURABILITY_FSYNC);
	assert_file_holds(sub, name, "{\"kept\":1}\n", 11);
	spool_close(spool);
}

/* ------------------------------------------------------ concurrent reader */

#define READER_EVENTS     500
#define READER_EVENT_SIZE 49152
#define READER_MAX_PASSES 1000000

/* Event i: a header naming i, padding of one letter, a closing line. */
static void
reader_event(int i, char *out)
{
	int n = snprintf(out, READER_EVENT_SIZE, "{\"event\":%06d,\"pad\":\"", i);

	memset(out + n, 'a' + i % 26, READER_EVENT_SIZE - (size_t)n - 3);
	memcpy(out + READER_EVENT_SIZE - 3, "\"}\n", 3);
}

struct poll_run {
	const char *new_dir;
	struct spool *spool;
	pthread_mutex_t lock;
	pthread_cond_t started_cond;
	bool reader_started;
	_Atomic bool writer_done;
	/* writer */
	int write_failures;
	/* reader */
	long reads;               /* files read and checked */
	long reads_while_writing; /* of them, before the writer finished */
	long bad;                 /* files incomplete or wrong */
	char first_bad[320];
	bool seen[READER_EVENTS];
	long seen_at_end; /* complete events in the final pass */
};

static void
reader_note_bad(struct poll_run *run, const char *name, const char *why)
{
	if (run->bad++ == 0)
		snprintf(run->first_bad, sizeof(run->first_bad), "%.200s: %.100s", name, why);
}

static void
reader_check_file(struct poll_run *run, int dfd, const char *name, char *got, char *expected)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC), i;
	size_t len = 0;
	ssize_t n;

	if (fd < 0) {
		reader_note_bad(run, name, "listed but cannot be opened");
		return;
	}
	/* One byte more than an event may hold, to see an overlong file. */
	while (len <= READER_EVENT_SIZE &&
	       (n = read(fd, got + len, READER_EVENT_SIZE + 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len != READER_EVENT_SIZE) {
		reader_note_bad(run, name, "wrong size: a partial event");
		return;
	}
	got[len] = '\0'; /* for sscanf */
	if (sscanf(got, "{\"event\":%6d,", &i) != 1 || i < 0 || i >= READER_EVENTS) {
		reader_note_bad(run, name, "no event number");
		return;
	}
	reader_event(i, expected);
	if (memcmp(got, expected, READER_EVENT_SIZE) != 0) {
		reader_note_bad(run, name, "content differs");
		return;
	}
	run->seen[i] = true;
	run->reads++;
}

/* One listing of new/; returns how many complete events it held. */
static long
reader_pass(struct poll_run *run, char *got, char *expected, bool writing)
{
	DIR *dp = opendir(run->new_dir);
	struct dirent *d;
	long before = run->reads, found;

	if (dp == NULL) {
		reader_note_bad(run, run->new_dir, "cannot list");
		return 0;
	}
	while ((d = readdir(dp)) != NULL)
		if (is_entry(d))
			reader_check_file(run, dirfd(dp), d->d_name, got, expected);
	closedir(dp);
	found = run->reads - before;
	if (writing)
		run->reads_while_writing += found;
	return found;
}

static void *
reader_run(void *arg)
{
	struct poll_run *run = arg;
	char *expected = malloc(READER_EVENT_SIZE), *got = malloc(READER_EVENT_SIZE + 1);

	pthread_mutex_lock(&run->lock);
	run->reader_started = true;
	pthread_cond_signal(&run->started_cond);
	pthread_mutex_unlock(&run->lock);
	if (expected == NULL || got == NULL) {
		reader_note_bad(run, "reader", "out of memory");
	} else {
		for (long pass = 0; pass < READER_MAX_PASSES && !run->writer_done; pass++)
			reader_pass(run, got, expected, true);
		run->seen_at_end = reader_pass(run, got, expected, false);
	}
	free(expected);
	free(got);
	return NULL;
}

static void *
poll_writer_run(void *arg)
{
	struct poll_run *run = arg;
	char *data = malloc(READER_EVENT_SIZE);
	char name[SPOOL_NAME_MAX];

	pthread_mutex_lock(&run->lock);
	while (!run->reader_started)
		pthread_cond_wait(&run->started_cond, &run->lock);
	pthread_mutex_unlock(&run->lock);
	for (int i = 0; data != NULL && i < READER_EVENTS; i++) {
		reader_event(i, data);
		if (spool_write(run->spool, data, READER_EVENT_SIZE, name) != 0)
			run->write_failures++;
		if (i % 16 == 0)
			sched_yield(); /* let the reader in even on one CPU */
	}
	if (data == NULL)
		run->write_failures = READER_EVENTS;
	free(data);
	run->writer_done = true;
	return NULL;
}

static void
spool_reader_polling_new_never_sees_partial_event(void **state)
{
	struct fixture *fx = *state;

	for (int d = SPOOL_DURABILITY_FSYNC; d <= SPOOL_DURABILITY_NONE; d++) {
		struct poll_run *run = calloc(1, sizeof(*run));
		char dir[256], new_dir[256];
		pthread_t writer, reader;

		assert_non_null(run);
		path_of(dir, sizeof(dir), fx->root, durability_names[d]);
		path_of(new_dir, sizeof(new_dir), dir, "new");
		run->new_dir = new_dir;
		run->spool = open_or_fail(dir, (enum spool_durability)d);
		pthread_mutex_init(&run->lock, NULL);
		pthread_cond_init(&run->started_cond, NULL);
		assert_int_equal(pthread_create(&reader, NULL, reader_run, run), 0);
		assert_int_equal(pthread_create(&writer, NULL, poll_writer_run, run), 0);
		assert_int_equal(pthread_join(writer, NULL), 0);
		assert_int_equal(pthread_join(reader, NULL), 0);
		spool_close(run->spool);

		assert_int_equal(run->write_failures, 0);
		if (run->bad != 0)
			fail_msg("%s: %ld bad reads, first %s", durability_names[d], run->bad,
			         run->first_bad);
		assert_int_equal(run->seen_at_end, READER_EVENTS);
		for (int i = 0; i < READER_EVENTS; i++)
			assert_true(run->seen[i]);
		/* The reader really ran alongside the writer. */
		assert_true(run->reads_while_writing > 0);
		assert_int_equal(count_entries(dir, "tmp"), 0);
		pthread_cond_destroy(&run->started_cond);
		pthread_mutex_destroy(&run->lock);
		free(run);
	}
}

/* ------------------------------------------------------ journal and crashes */

#define CRASH_EVENTS 40

static void
crash_event(int i, char *out, size_t outlen)
{
	snprintf(out, outlen, "{\"crash\":%d,\"pad\":\"%0*d\"}\n", i, 100 + i * 7, i);
}

/*
 * A child process writes events (each acknowledged by spool_write) and one
 * withdrawn event, then dies without closing the spool: no checkpoint ran.
 * Names go to the parent through a pipe.
 */
static void
crash_child(const char *dir, int out_fd)
{
	struct buf err = BUF_INIT;
	struct spool *spool = spool_open(dir, SPOOL_DURABILITY_FSYNC, &err);
	char data[512], name[SPOOL_NAME_MAX];

	if (spool == NULL)
		_exit(2);
	for (int i = 0; i < CRASH_EVENTS; i++) {
		crash_event(i, data, sizeof(data));
		if (spool_write(spool, data, strlen(data), name) != 0)
			_exit(3);
		if (write(out_fd, name, SPOOL_NAME_MAX) != SPOOL_NAME_MAX)
			_exit(4);
	}
	struct spool_entry *e = spool_begin(spool, "{\"withdrawn\":1}\n", 16);
	if (e == NULL)
		_exit(5);
	spool_abandon(spool, e);
	_exit(0);
}

static void
spool_recovers_acknowledged_events_after_a_crash(void **state)
{
	struct fixture *fx = *state;
	char names[CRASH_EVENTS][SPOOL_NAME_MAX], path[256], data[512];
	int pipe_fds[2], status;
	struct spool *spool;
	pid_t pid;

	assert_int_equal(pipe(pipe_fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipe_fds[0]);
		crash_child(fx->spool, pipe_fds[1]);
	}
	close(pipe_fds[1]);
	for (int i = 0; i < CRASH_EVENTS; i++)
		assert_int_equal(read(pipe_fds[0], names[i], SPOOL_NAME_MAX), SPOOL_NAME_MAX);
	close(pipe_fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* What a power loss can do to files that were never flushed one by one. */
	path_of(path, sizeof(path), fx->spool, "new");
	for (int i = 0; i < CRASH_EVENTS; i += 3) {
		char file[512];
		snprintf(file, sizeof(file), "%s/%.63s", path, names[i]);
		if (i % 2 == 0)
			assert_int_equal(truncate(file, 0), 0); /* data lost */
		else
			assert_int_equal(unlink(file), 0); /* rename lost */
	}
	/* A consumer already took one, intact, into cur/. */
	{
		char from[512], to[512];
		snprintf(from, sizeof(from), "%s/new/%.63s", fx->spool, names[1]);
		snprintf(to, sizeof(to), "%s/cur/%.63s", fx->spool, names[1]);
		assert_int_equal(rename(from, to), 0);
	}

	spool = open_or_fail(fx->spool, SPOOL_DURABILITY_FSYNC);
	path_of(path, sizeof(path), fx->spool, "new");
	for (int i = 0; i < CRASH_EVENTS; i++) {
		crash_event(i, data, sizeof(data));
		if (i == 1) {
			char cur[256];
			path_of(cur, sizeof(cur), fx->spool, "cur");
			assert_file_holds(cur, names[i], data, strlen(data));
		} else {
			assert_file_holds(path, names[i], data, strlen(data));
		}
	}
	/* Exactly the acknowledged events: the withdrawn one did not come back. */
	assert_int_equal(count_entries(fx->spool, "new"), CRASH_EVENTS - 1);
	assert_int_equal(count_entries(fx->spool, "tmp"), 0);
	spool_close(spool);
	/* A clean close leaves no journal behind. */
	assert_int_equal(count_entries(fx->spool, "journal"), 0);
}

static void
spool_checkpoint_drops_the_journal_and_abandon_withdraws(void **state)
{
	struct fixture *fx = *state;
	struct spool *spool = open_or_fail(fx->spool, SPOOL_DURABILITY_FSYNC);
	char name[SPOOL_NAME_MAX], journal[512];
	struct spool_entry *kept, *dropped;
	struct stat st;

	first_journal(fx->spool, journal, sizeof(journal));
	kept = spool_begin(spool, "{\"kept\":1}\n", 11);
	dropped = spool_begin(spool, "{\"dropped\":1}\n", 14);
	assert_non_null(kept);
	assert_non_null(dropped);
	/* Not visible before commit. */
	assert_int_equal(count_entries(fx->spool, "new"), 0);
	spool_abandon(spool, dropped);
	assert_int_equal(spool_commit(spool, kept, name), 0);
	spool_wait_published(spool);
	assert_int_equal(count_entries(fx->spool, "new"), 1);
	assert_int_equal(count_entries(fx->spool, "tmp"), 0);

	spool_checkpoint(spool);
	/* The journal that held both no longer exists under its number. */
	assert_int_equal(stat(journal, &st), -1);
	spool_close(spool);
}

/*
 * A journal file is reused under a new number after a checkpoint, its old
 * records still in it: after a crash they must not come back, even when a
 * consumer has taken and deleted the events they held.
 */
static void
spool_reused_journal_does_not_republish_old_events(void **state)
{
	struct fixture *fx = *state;
	char name[SPOOL_NAME_MAX], path[512];
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct buf err = BUF_INIT;
		struct spool *spool = spool_open(fx->spool, SPOOL_DURABILITY_FSYNC, &err);
		if (spool == NULL)
			_exit(2);
		for (int i = 0; i < 20; i++)
			if (spool_write(spool, "{\"old\":1}\n", 10, name) != 0)
				_exit(3);
		spool_checkpoint(spool); /* the journal is kept for reuse */
		spool_checkpoint(spool);
		_exit(0); /* no close: what a crash leaves */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(count_entries(fx->spool, "new"), 20);
	assert_true(count_entries(fx->spool, "journal") >= 2);
	/* A consumer takes every event and deletes it. */
	path_of(path, sizeof(path), fx->spool, "new");
	remove_all_in(path);

	struct spool *spool = open_or_fail(fx->spool, SPOOL_DURABILITY_FSYNC);
	assert_int_equal(count_entries(fx->spool, "new"), 0);
	spool_close(spool);
}

/* A torn last record (a write nobody was told succeeded) is ignored. */
static void
spool_recovery_ignores_a_torn_tail(void **state)
{
	struct fixture *fx = *state;
	struct spool *spool = open_or_fail(fx->spool, SPOOL_DURABILITY_FSYNC);
	char path[512];

	spool_close(spool);
	snprintf(path, sizeof(path), "%s/journal", fx->spool);
	int dir_fd = open(path, O_RDONLY | O_DIRECTORY);
	int fd = journal_create(dir_fd, 100);
	off_t end = 0;
	assert_true(fd >= 0);
	assert_int_equal(journal_extend(fd, 0, 4096), 0);
	assert_int_equal(journal_append_event(fd, 100, end, "1.000001.P1_0000000001.json",
	                                      "{\"a\":1}\n", 8, &end),
	                 0);
	/* A record of another journal number (stale), then a torn one. */
	off_t stale_end = end;
	assert_int_equal(journal_append_event(fd, 99, stale_end, "1.000002.P1_0000000002.json",
	                                      "{\"b\":1}\n", 8, &stale_end),
	                 0);
	assert_int_equal(
	    pwrite(fd, "E 1.000003.P1_0000000003.json 500 100 0\n{\"torn", 44, stale_end), 44);
	close(fd);
	close(dir_fd);
	spool = open_or_fail(fx->spool, SPOOL_DURABILITY_FSYNC);
	path_of(path, sizeof(path), fx->spool, "new");
	assert_file_holds(path, "1.000001.P1_0000000001.json", "{\"a\":1}\n", 8);
	assert_int_equal(count_entries(fx->spool, "new"), 1);
	spool_close(spool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(spool_open_creates_tmp_new_cur_with_mode_0750,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(spool_open_is_idempotent_and_keeps_existing_events,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    spool_open_fails_with_reason_when_layout_cannot_exist, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    spool_write_stores_exact_bytes_in_new_and_leaves_tmp_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(spool_names_parse_and_sort_in_write_order, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(spool_write_from_8_threads_keeps_every_event_intact,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    spool_write_failure_returns_error_and_leaves_nothing_behind, setup, teardown),
		cmocka_unit_test_setup_teardown(spool_reader_polling_new_never_sees_partial_event,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(spool_recovers_acknowledged_events_after_a_crash,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    spool_checkpoint_drops_the_journal_and_abandon_withdraws, setup, teardown),
		cmocka_unit_test_setup_teardown(spool_reused_journal_does_not_republish_old_events,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(spool_recovery_ignores_a_torn_tail, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(spool_fsync_event_survives_an_unpublishable_new_dir,
		                                setup, teardown),
	};
	return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
