/*
 * spool - the durable event spool; see spool.h.
 *
 * Two threads serve the FSYNC mode.  The syncer flushes the current
 * journal whenever events were appended since its last flush and settles
 * every writer that flush covered.  The checkpointer, once a second, has
 * the syncer switch to a fresh journal file (created and made durable in
 * advance), waits until every event of the old one is published or
 * withdrawn, flushes the filesystem once and deletes the old journal.
 *
 * Measured on ext4 (2 cores): a journal append + fdatasync costs 0.23 ms,
 * fsync of the event file + rename + fsync of new/ 0.49 ms; and the
 * journal flush runs while the caller signs, instead of after it.
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
#include <sys/statvfs.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/deadline.h"
#include "common/spool.h"
#include "common/spool_journal.h"
#include "common/xalloc.h"

/*
 * A checkpoint every 30 s by default (events.checkpoint_seconds), about
 * when the kernel writes dirty files back by itself, so the syncfs() mostly
 * finds them written already; sooner when the journal passes 64 MB.
 */
#define CHECKPOINT_DEFAULT_MS 30000
#define JOURNAL_SOFT_MAX      (64L * 1024 * 1024)
/*
 * Journal files are zero-filled in advance (see spool_journal.h): 1 MB for
 * the first, made at open, 8 MB for the spare the checkpointer prepares;
 * a full journal is rotated at once when the spare is ready.  Reused files
 * keep their size, so zeros are written only while the journal grows.
 */
/*
 * The publisher, woken by the first event of an empty queue, waits this
 * long for more (or a full batch) before it writes them: one wake-up per
 * batch, not per event; events are durable in the journal meanwhile.
 */
#define PUBLISH_DELAY_MS   5
#define PUBLISH_BATCH      32
#define JOURNAL_FIRST_SIZE (1L * 1024 * 1024)
/* Zeros take at most this share of the free space, so they never fill a small disk. */
#define JOURNAL_FREE_SHARE 4
/* Free space below which the spool counts as full (room_for()). */
#define SPOOL_ROOM_MIN (64 * 1024)
#define JOURNAL_SIZE   (8L * 1024 * 1024)

struct journal {
	int fd;
	uint64_t number;
	off_t size;        /* where the next record goes */
	off_t allocated;   /* bytes zero-filled in advance */
	unsigned inflight; /* events appended here, not yet published or withdrawn */
	bool keep;         /* an event of it could not be published: retried */
	bool keep_logged;
};

struct spool_entry {
	char name[SPOOL_NAME_MAX];
	int fd;       /* the unnamed staged file, or -1 when staged as tmp/NAME */
	uint64_t seq; /* FSYNC: position in the journal flush order */
	struct journal *journal;
	bool settled;
	int error;
	struct spool_entry *next; /* unsettled entries */
	char *data;               /* FSYNC: the event, until the publisher has written it */
	size_t len;
	struct spool_entry *publish_next;
};

struct spool {
	char *dir;
	int tmp_fd, new_fd, cur_fd, journal_fd; /* directories */
	enum spool_durability durability;
	atomic_uint_fast64_t name_seq;
	atomic_bool no_tmpfile; /* the filesystem refused O_TMPFILE: stage in tmp/ */

	pthread_mutex_t lock;
	pthread_cond_t work;    /* syncer: something to flush, a rotation, stop */
	pthread_cond_t settled; /* writers: a flush settled entries */
	pthread_cond_t drained; /* checkpointer: rotation done, a journal drained, stop */
	struct journal *current, *spare, *retired;
	struct journal *reusable; /* a retired journal file kept for reuse */
	uint64_t appended, synced, next_number;
	struct spool_entry *unsettled;
	bool threads_running, rotate, stop_checkpoints, stop_syncer, stop_publisher;
	unsigned checkpoint_ms;
	pthread_cond_t publish_work; /* publisher: committed events to write */
	pthread_cond_t published;    /* spool_wait_published(): the queue emptied */
	size_t publishing;           /* taken by the publisher, not yet written */
	size_t publish_queued;       /* events in the queue */
	unsigned publish_waiters;    /* in spool_wait_published(): no delay */
	struct spool_entry *publish_head, **publish_tail;
	struct journal **kept; /* checkpointer only: journals owing publications */
	size_t n_kept;
	pthread_t syncer, checkpointer, publisher;
};

static const char *const subdirs[] = { "tmp", "new", "cur", "journal" };

static int
mkdir_if_missing(const char *path)
{
	if (mkdir(path, 0750) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

static int
open_dir(struct spool *spool, const char *sub, int *fd, struct buf *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", spool->dir, sub);
	*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		buf_printf(err, "cannot open spool directory %s: %s", path, strerror(errno));
	return *fd;
}

static bool
zeros_fit(int fd, off_t bytes)
{
	struct statvfs sv;

	return fstatvfs(fd, &sv) == 0 &&
	       (unsigned long long)bytes <=
	           (unsigned long long)sv.f_bavail * sv.f_frsize / JOURNAL_FREE_SHARE;
}

/*
 * A journal ready for records, at least size bytes of it zero-filled: the
 * reusable file when there is one, else a new file.  NULL with errno.
 */
static struct journal *
journal_new(struct spool *spool, off_t size)
{
	struct journal *j;

	pthread_mutex_lock(&spool->lock);
	j = spool->reusable;
	spool->reusable = NULL;
	uint64_t number = spool->next_number++;
	pthread_mutex_unlock(&spool->lock);
	if (j == NULL) {
		int fd = journal_create(spool->journal_fd, number);
		if (fd < 0)
			return NULL;
		j = xcalloc(1, sizeof(*j));
		j->fd = fd;
		j->number = number;
	}
	/* Without the zeros the journal still works, its flushes cost more. */
	if (j->allocated < size && zeros_fit(j->fd, size - j->allocated)) {
		if (journal_extend(j->fd, j->allocated, size) == 0)
			j->allocated = size;
		else if (ftruncate(j->fd, j->allocated) < 0) /* give back what was written */
			log_warning(NULL, "event spool %s: journal not cut back: %s", spool->dir,
			            strerror(errno));
	}
	return j;
}

/*
 * A journal whose events are all published and flushed: kept for reuse
 * under a new number (its records then belong to no journal) when reuse
 * is true and none is kept yet, else deleted.
 */
static void
journal_retire(struct spool *spool, struct journal *j, bool reuse)
{
	char name[32];
	uint64_t number = 0;

	pthread_mutex_lock(&spool->lock);
	reuse = reuse && spool->reusable == NULL;
	if (reuse)
		number = spool->next_number++;
	pthread_mutex_unlock(&spool->lock);
	if (reuse && journal_rename(spool->journal_fd, j->number, number) == 0) {
		off_t used = j->allocated > j->size ? j->allocated : j->size;
		*j = (struct journal){ .fd = j->fd, .number = number, .allocated = used };
		pthread_mutex_lock(&spool->lock);
		spool->reusable = j;
		pthread_mutex_unlock(&spool->lock);
		return;
	}
	journal_file_name(j->number, name, sizeof(name));
	unlinkat(spool->journal_fd, name, 0);
	fsync(spool->journal_fd);
	close(j->fd);
	free(j);
}

/* The journal size that calls for a checkpoint: early when a spare is ready. */
static off_t
rotate_at(const struct spool *spool)
{
	const struct journal *j = spool->current;

	if (spool->spare != NULL && j->allocated > 0 && j->allocated < JOURNAL_SOFT_MAX)
		return j->allocated;
	return JOURNAL_SOFT_MAX;
}

/* ------------------------------------------------------------ syncer */

static void
settle(struct spool *spool, uint64_t upto, int error)
{
	struct spool_entry **pp = &spool->unsettled;

	while (*pp != NULL) {
		struct spool_entry *e = *pp;
		if (e->seq <= upto) {
			e->settled = true;
			e->error = error;
			*pp = e->next;
		} else {
			pp = &e->next;
		}
	}
	pthread_cond_broadcast(&spool->settled);
}

static void *
syncer_main(void *arg)
{
	struct spool *spool = arg;

	pthread_mutex_lock(&spool->lock);
	for (;;) {
		while (spool->appended == spool->synced && !spool->rotate && !spool->stop_syncer)
			pthread_cond_wait(&spool->work, &spool->lock);
		if (spool->appended == spool->synced && !spool->rotate)
			break;
		uint64_t target = spool->appended;
		struct journal *flushed = spool->current, *rotated = NULL;
		if (spool->rotate && spool->spare != NULL) {
			rotated = spool->current;
			spool->current = spool->spare;
			spool->spare = NULL;
		}
		spool->rotate = false;
		pthread_mutex_unlock(&spool->lock);
		int error = fdatasync(flushed->fd) < 0 ? errno : 0;
		pthread_mutex_lock(&spool->lock);
		if (error != 0)
			log_error(NULL, "event spool %s: journal flush failed: %s", spool->dir,
			          strerror(error));
		spool->synced = target;
		settle(spool, target, error);
		if (rotated != NULL) {
			spool->retired = rotated;
			pthread_cond_broadcast(&spool->drained);
		}
	}
	pthread_mutex_unlock(&spool->lock);
	return NULL;
}

/* ------------------------------------------------------------ checkpoints */

/* A journal whose events could not all be published: kept until they are. */
static void
kept_add(struct spool *spool, struct journal *j)
{
	spool->kept = xgrow(spool->kept, spool->n_kept, sizeof(*spool->kept));
	spool->kept[spool->n_kept++] = j;
}

/* Publish what the kept journals still owe (e.g. new/ was unwritable for a while). */
static void
retry_kept(struct spool *spool)
{
	size_t still = 0;

	for (size_t i = 0; i < spool->n_kept; i++) {
		struct journal *j = spool->kept[i];
		struct buf err = BUF_INIT;
		unsigned long published = 0;

		if (journal_republish(spool->journal_fd, j->number, spool->tmp_fd, spool->new_fd,
		                      spool->cur_fd, &published, &err) == 0 &&
		    syncfs(spool->new_fd) == 0) {
			log_notice(NULL,
			           "event spool %s: published %lu events held back in the journal",
			           spool->dir, published);
			journal_retire(spool, j, true);
		} else {
			if (!j->keep_logged)
				log_error(NULL,
				          "event spool %s: %s; the events stay in the journal and "
				          "are retried at every checkpoint",
				          spool->dir, buf_str(&err));
			j->keep_logged = true;
			spool->kept[still++] = j;
		}
		buf_free(&err);
	}
	spool->n_kept = still;
}

/* The next journal, made ready off the message path; lock held. */
static int
prepare_spare_locked(struct spool *spool)
{
	pthread_mutex_unlock(&spool->lock);
	struct journal *spare = journal_new(spool, JOURNAL_SIZE);
	pthread_mutex_lock(&spool->lock);
	if (spare == NULL) {
		log_error(NULL, "event spool %s: cannot create a journal file: %s", spool->dir,
		          strerror(errno));
		return -1;
	}
	if (spool->spare == NULL) {
		spool->spare = spare;
	} else { /* made meanwhile by a checkpoint the caller asked for */
		pthread_mutex_unlock(&spool->lock);
		journal_retire(spool, spare, true);
		pthread_mutex_lock(&spool->lock);
	}
	return 0;
}

/* Called with the lock held; returns with it held. */
static void
checkpoint_locked(struct spool *spool)
{
	struct journal *old;

	if (spool->spare == NULL && prepare_spare_locked(spool) < 0)
		return;
	if (spool->current->size == 0) {
		if (spool->n_kept > 0) {
			pthread_mutex_unlock(&spool->lock);
			retry_kept(spool);
			pthread_mutex_lock(&spool->lock);
		}
		return;
	}
	spool->rotate = true;
	pthread_cond_signal(&spool->work);
	while (spool->retired == NULL)
		pthread_cond_wait(&spool->drained, &spool->lock);
	old = spool->retired;
	spool->retired = NULL;
	while (old->inflight > 0)
		pthread_cond_wait(&spool->drained, &spool->lock);
	pthread_mutex_unlock(&spool->lock);
	/* Every file the old journal covered is in new/ (or withdrawn): flush them all. */
	if (old->keep) {
		kept_add(spool, old); /* retried below, at every checkpoint */
	} else if (syncfs(spool->new_fd) == 0) {
		journal_retire(spool, old, true);
	} else {
		log_error(NULL,
		          "event spool %s: checkpoint flush failed (%s); the journal stays for "
		          "recovery at the next start",
		          spool->dir, strerror(errno));
		close(old->fd);
		free(old);
	}
	retry_kept(spool);
	pthread_mutex_lock(&spool->lock);
}

static void *
checkpointer_main(void *arg)
{
	struct spool *spool = arg;
	struct timespec deadline;

	pthread_mutex_lock(&spool->lock);
	while (!spool->stop_checkpoints) {
		unsigned interval = spool->checkpoint_ms;

		if (spool->spare == NULL)
			prepare_spare_locked(spool);
		deadline_after_ms(&deadline, interval);
		while (!spool->stop_checkpoints && spool->current->size < rotate_at(spool) &&
		       interval == spool->checkpoint_ms &&
		       pthread_cond_timedwait(&spool->drained, &spool->lock, &deadline) == 0)
			;
		if (interval != spool->checkpoint_ms && !spool->stop_checkpoints)
			continue; /* a new interval: wait again, from now */
		checkpoint_locked(spool);
	}
	pthread_mutex_unlock(&spool->lock);
	return NULL;
}

void
spool_set_checkpoint_interval(struct spool *spool, unsigned seconds)
{
	pthread_mutex_lock(&spool->lock);
	spool->checkpoint_ms = (seconds > 0 ? seconds : 1) * 1000;
	pthread_cond_broadcast(&spool->drained);
	pthread_mutex_unlock(&spool->lock);
}

void
spool_checkpoint(struct spool *spool)
{
	if (spool->durability != SPOOL_DURABILITY_FSYNC)
		return;
	pthread_mutex_lock(&spool->lock);
	checkpoint_locked(spool);
	pthread_mutex_unlock(&spool->lock);
}

/* ------------------------------------------------------------ open and close */

static void *publisher_main(void *arg);

/* Recover what a crash left, then start the journal threads. */
static int
start_journal(struct spool *spool, struct buf *err)
{
	unsigned long recovered = 0;
	int64_t highest = journal_recover(spool->journal_fd, spool->tmp_fd, spool->new_fd,
	                                  spool->cur_fd, &recovered, err);

	if (highest < 0)
		return -1;
	if (recovered > 0)
		log_notice(NULL, "event spool %s: recovered %lu events from the journal",
		           spool->dir, recovered);
	spool->next_number = (uint64_t)highest + 1;
	/* The spare is the checkpointer's first task. */
	if ((spool->current = journal_new(spool, JOURNAL_FIRST_SIZE)) == NULL) {
		buf_printf(err, "cannot create a journal in %s/journal: %s", spool->dir,
		           strerror(errno));
		return -1;
	}
	spool->publish_tail = &spool->publish_head;
	pthread_create(&spool->syncer, NULL, syncer_main, spool);
	pthread_create(&spool->checkpointer, NULL, checkpointer_main, spool);
	pthread_create(&spool->publisher, NULL, publisher_main, spool);
	/* Named for top -H and perf: which part of the spool spends the time. */
	pthread_setname_np(spool->syncer, "spool-flush");
	pthread_setname_np(spool->checkpointer, "spool-checkpt");
	pthread_setname_np(spool->publisher, "spool-publish");
	spool->threads_running = true;
	return 0;
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
	spool->checkpoint_ms = CHECKPOINT_DEFAULT_MS;
	pthread_mutex_init(&spool->lock, NULL);
	pthread_cond_init(&spool->work, NULL);
	pthread_cond_init(&spool->settled, NULL);
	pthread_cond_init(&spool->drained, NULL);
	pthread_cond_init(&spool->publish_work, NULL);
	pthread_cond_init(&spool->published, NULL);
	spool->tmp_fd = spool->new_fd = spool->cur_fd = spool->journal_fd = -1;
	if (open_dir(spool, "tmp", &spool->tmp_fd, err) < 0 ||
	    open_dir(spool, "new", &spool->new_fd, err) < 0 ||
	    open_dir(spool, "cur", &spool->cur_fd, err) < 0 ||
	    open_dir(spool, "journal", &spool->journal_fd, err) < 0) {
		spool_close(spool);
		return NULL;
	}
	if (durability == SPOOL_DURABILITY_FSYNC && start_journal(spool, err) < 0) {
		spool_close(spool);
		return NULL;
	}
	return spool;
}

static void
close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

void
spool_close(struct spool *spool)
{
	if (spool == NULL)
		return;
	if (spool->threads_running) {
		/* The publisher first (it writes what is queued), then the final checkpoint. */
		pthread_mutex_lock(&spool->lock);
		spool->stop_publisher = true;
		pthread_cond_signal(&spool->publish_work);
		pthread_mutex_unlock(&spool->lock);
		pthread_join(spool->publisher, NULL);
		pthread_mutex_lock(&spool->lock);
		spool->stop_checkpoints = true;
		pthread_cond_broadcast(&spool->drained);
		pthread_mutex_unlock(&spool->lock);
		pthread_join(spool->checkpointer, NULL);
		pthread_mutex_lock(&spool->lock);
		spool->stop_syncer = true;
		pthread_cond_signal(&spool->work);
		pthread_mutex_unlock(&spool->lock);
		pthread_join(spool->syncer, NULL);
	}
	/* After the final checkpoint the current journal is empty unless that failed. */
	if (spool->current != NULL) {
		if (spool->current->size == 0 || syncfs(spool->new_fd) == 0) {
			journal_retire(spool, spool->current, false);
		} else {
			close(spool->current->fd);
			free(spool->current);
		}
	}
	if (spool->spare != NULL)
		journal_retire(spool, spool->spare, false);
	if (spool->reusable != NULL)
		journal_retire(spool, spool->reusable, false);
	/* Journals still owing publications stay on disk: the next start recovers them. */
	for (size_t i = 0; i < spool->n_kept; i++) {
		close(spool->kept[i]->fd);
		free(spool->kept[i]);
	}
	free(spool->kept);
	close_fd(spool->tmp_fd);
	close_fd(spool->new_fd);
	close_fd(spool->cur_fd);
	close_fd(spool->journal_fd);
	pthread_mutex_destroy(&spool->lock);
	pthread_cond_destroy(&spool->work);
	pthread_cond_destroy(&spool->settled);
	pthread_cond_destroy(&spool->drained);
	pthread_cond_destroy(&spool->publish_work);
	pthread_cond_destroy(&spool->published);
	free(spool->dir);
	free(spool);
}

const char *
spool_dir(const struct spool *spool)
{
	return spool->dir;
}

/* ------------------------------------------------------------ writing */

static void
spool_make_name(struct spool *spool, char name[SPOOL_NAME_MAX])
{
	struct timeval tv;
	unsigned long long seq = atomic_fetch_add(&spool->name_seq, 1);

	gettimeofday(&tv, NULL);
	snprintf(name, SPOOL_NAME_MAX, "%lld.%06ld.P%ld_%010llu.json", (long long)tv.tv_sec,
	         (long)tv.tv_usec, (long)getpid(), seq);
}

/*
 * Staging: the event's bytes in a file no consumer can see yet.  An
 * unnamed file (O_TMPFILE) in new/, linked under its name when published,
 * takes one directory operation instead of a create in tmp/ and a rename
 * that locks both directories; where the filesystem has no O_TMPFILE,
 * DIR/tmp/NAME and a rename.
 */
static int
stage_open(struct spool *spool, struct spool_entry *e)
{
	if (!atomic_load(&spool->no_tmpfile)) {
		int fd = openat(spool->new_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0640);
		if (fd >= 0)
			return e->fd = fd;
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return -1;
		atomic_store(&spool->no_tmpfile, true);
	}
	return openat(spool->tmp_fd, e->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
}

/* Drop a staged file; keeps errno. */
static void
stage_discard(struct spool *spool, struct spool_entry *e)
{
	int saved = errno;

	if (e->fd >= 0)
		close(e->fd);
	else
		unlinkat(spool->tmp_fd, e->name, 0);
	e->fd = -1;
	errno = saved;
}

/* Write the event to a staged file; on failure nothing is left behind. */
static int
stage_write(struct spool *spool, struct spool_entry *e, const char *data, size_t len)
{
	int fd;

	e->fd = -1;
	fd = stage_open(spool, e);
	if (fd < 0)
		return -1;
	if (journal_write_all(fd, data, len) < 0) {
		int saved = errno;
		close(fd);
		e->fd = -1;
		errno = saved;
		stage_discard(spool, e);
		return -1;
	}
	if (e->fd < 0 && close(fd) < 0) {
		stage_discard(spool, e);
		return -1;
	}
	return 0;
}

/* Give the staged file its name in new/. */
static int
stage_publish(struct spool *spool, struct spool_entry *e)
{
	char proc[64];
	int rc;

	if (e->fd < 0)
		return renameat(spool->tmp_fd, e->name, spool->new_fd, e->name);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", e->fd);
	rc = linkat(AT_FDCWD, proc, spool->new_fd, e->name, AT_SYMLINK_FOLLOW);
	if (rc == 0) {
		close(e->fd);
		e->fd = -1;
	}
	return rc;
}

/* Append the event to the journal and queue it for the next flush. */
static int
journal_event(struct spool *spool, struct spool_entry *e, const char *data, size_t len)
{
	struct journal *j;
	int rc;

	pthread_mutex_lock(&spool->lock);
	j = spool->current;
	rc = journal_append_event(j->fd, j->number, j->size, e->name, data, len, &j->size);
	if (rc == 0) {
		e->seq = ++spool->appended;
		e->journal = j;
		j->inflight++;
		e->next = spool->unsettled;
		spool->unsettled = e;
		pthread_cond_signal(&spool->work);
		if (j->size >= rotate_at(spool))
			pthread_cond_broadcast(&spool->drained);
	}
	pthread_mutex_unlock(&spool->lock);
	return rc;
}

/*
 * Is there room for the event's file in new/?  The journal may still have
 * room zero-filled in advance when the disk is full, but an event that
 * cannot get its file is not one to accept: a full spool disk takes
 * failure.spool_unwritable as it would without the journal.
 */
static bool
room_for(const struct spool *spool, size_t len)
{
	struct statvfs sv;

	if (fstatvfs(spool->new_fd, &sv) < 0)
		return true; /* the writes will say */
	return (unsigned long long)sv.f_bavail * sv.f_frsize >= len + SPOOL_ROOM_MIN;
}

struct spool_entry *
spool_begin(struct spool *spool, const char *data, size_t len)
{
	struct spool_entry *e = xcalloc(1, sizeof(*e));
	int saved;

	spool_make_name(spool, e->name);
	e->fd = -1;
	if (spool->durability == SPOOL_DURABILITY_NONE) {
		if (stage_write(spool, e, data, len) < 0)
			goto fail;
		return e;
	}
	if (!room_for(spool, len)) {
		errno = ENOSPC;
		goto fail;
	}
	e->data = xmalloc(len + 1);
	memcpy(e->data, data, len);
	e->len = len;
	if (journal_event(spool, e, data, len) < 0)
		goto fail;
	return e;
fail:
	saved = errno;
	free(e->data);
	free(e);
	errno = saved;
	return NULL;
}

/*
 * The entry leaves the journal's books: withdrawn (a record says so, for
 * recovery) unless it was published.  Frees it.
 */
static void
finish_entry(struct spool *spool, struct spool_entry *e, bool published)
{
	if (spool->durability != SPOOL_DURABILITY_FSYNC) {
		free(e);
		return;
	}
	pthread_mutex_lock(&spool->lock);
	while (!e->settled)
		pthread_cond_wait(&spool->settled, &spool->lock);
	if (!published) {
		struct journal *j = spool->current;
		if (journal_append_void(j->fd, j->number, j->size, e->name, &j->size) < 0)
			log_warning(NULL, "event spool %s: cannot record the withdrawal of %s: %s",
			            spool->dir, e->name, strerror(errno));
	}
	if (--e->journal->inflight == 0 && e->journal != spool->current)
		pthread_cond_broadcast(&spool->drained);
	pthread_mutex_unlock(&spool->lock);
	free(e->data);
	free(e);
}

int
spool_commit(struct spool *spool, struct spool_entry *e, char name[SPOOL_NAME_MAX])
{
	int error = 0;

	snprintf(name, SPOOL_NAME_MAX, "%s", e->name);
	if (spool->durability == SPOOL_DURABILITY_NONE) {
		if (stage_publish(spool, e) < 0) {
			error = errno;
			stage_discard(spool, e);
		}
		finish_entry(spool, e, error == 0);
		errno = error;
		return error == 0 ? 0 : -1;
	}
	pthread_mutex_lock(&spool->lock);
	while (!e->settled)
		pthread_cond_wait(&spool->settled, &spool->lock);
	error = e->error;
	if (error == 0) {
		/* Durable: the publisher gives it its file in new/. */
		e->publish_next = NULL;
		*spool->publish_tail = e;
		spool->publish_tail = &e->publish_next;
		if (++spool->publish_queued == 1 || spool->publish_queued >= PUBLISH_BATCH)
			pthread_cond_signal(&spool->publish_work);
	}
	pthread_mutex_unlock(&spool->lock);
	if (error != 0)
		finish_entry(spool, e, false);
	errno = error;
	return error == 0 ? 0 : -1;
}

void
spool_abandon(struct spool *spool, struct spool_entry *e)
{
	if (e == NULL)
		return;
	if (spool->durability == SPOOL_DURABILITY_NONE)
		stage_discard(spool, e);
	finish_entry(spool, e, false);
}

/* ------------------------------------------------------------ publisher */

/* Write one durable event into new/; a failure leaves it to recovery. */
static void
publish(struct spool *spool, struct spool_entry *e)
{
	if (stage_write(spool, e, e->data, e->len) == 0 && stage_publish(spool, e) == 0) {
		finish_entry(spool, e, true);
		return;
	}
	log_error(NULL,
	          "event spool %s: cannot publish %s (%s); it is safe in the journal, "
	          "publication is retried",
	          spool->dir, e->name, strerror(errno));
	stage_discard(spool, e);
	pthread_mutex_lock(&spool->lock);
	e->journal->keep = true;
	pthread_mutex_unlock(&spool->lock);
	finish_entry(spool, e, true); /* no withdrawal record: the event stands */
}

static void *
publisher_main(void *arg)
{
	struct spool *spool = arg;

	pthread_mutex_lock(&spool->lock);
	for (;;) {
		while (spool->publish_head == NULL && !spool->stop_publisher)
			pthread_cond_wait(&spool->publish_work, &spool->lock);
		struct timespec deadline;
		deadline_after_ms(&deadline, PUBLISH_DELAY_MS);
		while (spool->publish_queued > 0 && spool->publish_queued < PUBLISH_BATCH &&
		       spool->publish_waiters == 0 && !spool->stop_publisher &&
		       pthread_cond_timedwait(&spool->publish_work, &spool->lock, &deadline) == 0)
			;
		struct spool_entry *batch = spool->publish_head;
		if (batch == NULL)
			break;
		spool->publish_head = NULL;
		spool->publish_queued = 0;
		spool->publish_tail = &spool->publish_head;
		spool->publishing++;
		pthread_mutex_unlock(&spool->lock);
		while (batch != NULL) {
			struct spool_entry *next = batch->publish_next;
			publish(spool, batch);
			batch = next;
		}
		pthread_mutex_lock(&spool->lock);
		spool->publishing--;
		if (spool->publish_head == NULL)
			pthread_cond_broadcast(&spool->published);
	}
	pthread_mutex_unlock(&spool->lock);
	return NULL;
}

void
spool_wait_published(struct spool *spool)
{
	if (!spool->threads_running)
		return;
	pthread_mutex_lock(&spool->lock);
	spool->publish_waiters++;
	pthread_cond_signal(&spool->publish_work);
	while (spool->publish_head != NULL || spool->publishing > 0)
		pthread_cond_wait(&spool->published, &spool->lock);
	spool->publish_waiters--;
	pthread_mutex_unlock(&spool->lock);
}

int
spool_write(struct spool *spool, const char *data, size_t len, char name[SPOOL_NAME_MAX])
{
	struct spool_entry *e = spool_begin(spool, data, len);

	if (e == NULL || spool_commit(spool, e, name) < 0)
		return -1;
	spool_wait_published(spool);
	return 0;
}
