/*
 * spool - the durable event spool; see spool.h.
 *
 * FSYNC fsyncs each file, renames it, and shares the directory fsync among
 * concurrent writers.  (Sharing the file syncs too, with one syncfs() per
 * batch, was measured slower on ext4: concurrent fsyncs already share the
 * journal commit, and syncfs() also flushes everything else on the disk.)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/spool.h"
#include "common/xalloc.h"

struct sync_waiter;

/* One kind of sync shared by concurrent writers (see group_sync). */
struct group_sync {
	pthread_mutex_t lock;
	pthread_cond_t settled;
	uint64_t requested; /* numbers handed out so far */
	bool running;       /* a sync is running */
	struct sync_waiter *waiters;
	int fd;
	int (*sync)(int fd);
};

struct spool {
	char *dir;
	int tmp_fd; /* DIR/tmp, for openat() */
	int new_fd; /* DIR/new, for renameat() and the directory fsync */
	enum spool_durability durability;
	atomic_uint_fast64_t name_seq;

	struct group_sync dir_sync; /* FSYNC: fsync() of new/, shared */
};

static void
group_init(struct group_sync *g, int fd, int (*sync)(int))
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->settled, NULL);
	g->fd = fd;
	g->sync = sync;
}

static const char *const subdirs[] = { "tmp", "new", "cur" };

static int
mkdir_if_missing(const char *path)
{
	if (mkdir(path, 0750) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

struct spool *
spool_open(const char *dir, enum spool_durability durability, struct buf *err)
{
	struct spool *spool;
	char path[4096];

	if (mkdir_if_missing(dir) < 0) {
		buf_printf(err, "cannot create spool directory %s: %s", dir, strerror(errno));
		return NULL;
	}
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, subdirs[i]);
		if (mkdir_if_missing(path) < 0) {
			buf_printf(err, "cannot create %s: %s", path, strerror(errno));
			return NULL;
		}
	}
	spool = xcalloc(1, sizeof(*spool));
	spool->dir = xstrdup(dir);
	spool->durability = durability;
	spool->tmp_fd = spool->new_fd = -1;
	snprintf(path, sizeof(path), "%s/tmp", dir);
	spool->tmp_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (spool->tmp_fd >= 0) {
		snprintf(path, sizeof(path), "%s/new", dir);
		spool->new_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (spool->tmp_fd < 0 || spool->new_fd < 0) {
		buf_printf(err, "cannot open spool directory %s: %s", path, strerror(errno));
		spool_close(spool);
		return NULL;
	}
	group_init(&spool->dir_sync, spool->new_fd, fsync);
	return spool;
}

void
spool_close(struct spool *spool)
{
	if (spool == NULL)
		return;
	if (spool->tmp_fd >= 0)
		close(spool->tmp_fd);
	if (spool->new_fd >= 0)
		close(spool->new_fd);
	free(spool->dir);
	free(spool);
}

const char *
spool_dir(const struct spool *spool)
{
	return spool->dir;
}

static void
spool_make_name(struct spool *spool, char name[SPOOL_NAME_MAX])
{
	struct timeval tv;
	unsigned long long seq = atomic_fetch_add(&spool->name_seq, 1);

	gettimeofday(&tv, NULL);
	snprintf(name, SPOOL_NAME_MAX, "%lld.%06ld.P%ld_%010llu.json", (long long)tv.tv_sec,
	         (long)tv.tv_usec, (long)getpid(), seq);
}

static int
write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write DIR/tmp/name (and fsync it in FSYNC mode); on failure nothing is left behind. */
static int
spool_write_tmp(struct spool *spool, const char *name, const char *data, size_t len)
{
	int fd, saved;

	fd = openat(spool->tmp_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) < 0 ||
	    (spool->durability == SPOOL_DURABILITY_FSYNC && fsync(fd) < 0)) {
		saved = errno;
		close(fd);
		unlinkat(spool->tmp_fd, name, 0);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0) {
		saved = errno;
		unlinkat(spool->tmp_fd, name, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

/*
 * Group commit.  Each writer takes a number once its own work is done and
 * waits until a sync that started after that covers it.  When no sync is
 * running, the waiter runs the next one itself; it covers every number
 * taken before it started, and settles each waiter it covered with its
 * outcome, so every writer learns the result of the sync that covered it.
 */
struct sync_waiter {
	uint64_t seq;
	bool done;
	int error;
	struct sync_waiter *next;
};

static void
group_settle(struct group_sync *g, uint64_t upto, int error)
{
	struct sync_waiter **pp = &g->waiters;

	while (*pp != NULL) {
		struct sync_waiter *w = *pp;
		if (w->seq <= upto) {
			w->done = true;
			w->error = error;
			*pp = w->next;
		} else {
			pp = &w->next;
		}
	}
	pthread_cond_broadcast(&g->settled);
}

static int
group_sync(struct group_sync *g)
{
	struct sync_waiter self = { 0 };

	pthread_mutex_lock(&g->lock);
	self.seq = ++g->requested;
	self.next = g->waiters;
	g->waiters = &self;
	while (!self.done) {
		if (g->running) {
			pthread_cond_wait(&g->settled, &g->lock);
			continue;
		}
		uint64_t target = g->requested;
		g->running = true;
		pthread_mutex_unlock(&g->lock);
		int error = g->sync(g->fd) < 0 ? errno : 0;
		pthread_mutex_lock(&g->lock);
		g->running = false;
		group_settle(g, target, error);
	}
	pthread_mutex_unlock(&g->lock);
	errno = self.error;
	return self.error ? -1 : 0;
}

int
spool_write(struct spool *spool, const char *data, size_t len, char name[SPOOL_NAME_MAX])
{
	int saved;

	spool_make_name(spool, name);
	if (spool_write_tmp(spool, name, data, len) < 0)
		return -1;
	if (renameat(spool->tmp_fd, name, spool->new_fd, name) < 0)
		goto undo;
	if (spool->durability == SPOOL_DURABILITY_NONE || group_sync(&spool->dir_sync) == 0)
		return 0;
undo:
	/* Not durable: take it back so the message is retried, not half-recorded. */
	saved = errno;
	unlinkat(spool->tmp_fd, name, 0);
	unlinkat(spool->new_fd, name, 0);
	errno = saved;
	return -1;
}
