/*
 * spool_journal - journal records and crash recovery; see spool_journal.h.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/spool_journal.h"
#include "common/xalloc.h"

int
journal_write_all(int fd, const char *data, size_t len)
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

/* After a short writev: write what is left of iov past the first done bytes. */
static int
write_rest(int fd, const struct iovec *iov, int count, size_t done)
{
	for (int i = 0; i < count; i++) {
		const char *base = iov[i].iov_base;
		size_t len = iov[i].iov_len;

		if (done >= len) {
			done -= len;
			continue;
		}
		if (journal_write_all(fd, base + done, len - done) < 0)
			return -1;
		done = 0;
	}
	return 0;
}

/* A failed append must not leave half a record for later ones to follow. */
static int
cut_back(int fd, off_t end)
{
	int saved = errno;

	if (ftruncate(fd, end) == 0)
		lseek(fd, end, SEEK_SET);
	errno = saved;
	return -1;
}

int
journal_append_event(int fd, off_t end, const char *name, const char *data, size_t len,
                     off_t *new_end)
{
	char head[128];
	int n = snprintf(head, sizeof(head), "E %s %zu\n", name, len);

	if (n < 0 || (size_t)n >= sizeof(head)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* One system call for the record (the common case); the rest if it was short. */
	struct iovec iov[3] = { { head, (size_t)n }, { (void *)data, len }, { (void *)"\n", 1 } };
	size_t total = (size_t)n + len + 1;
	ssize_t done = writev(fd, iov, 3);
	if (done < 0 && errno != EINTR)
		return cut_back(fd, end);
	if (done < 0)
		done = 0;
	if ((size_t)done < total && write_rest(fd, iov, 3, (size_t)done) < 0)
		return cut_back(fd, end);
	*new_end = end + (off_t)total;
	return 0;
}

int
journal_append_void(int fd, off_t end, const char *name, off_t *new_end)
{
	char rec[128];
	int n = snprintf(rec, sizeof(rec), "V %s\n", name);

	if (n < 0 || (size_t)n >= sizeof(rec)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (journal_write_all(fd, rec, (size_t)n) < 0)
		return cut_back(fd, end);
	*new_end = end + n;
	return 0;
}

void
journal_file_name(uint64_t number, char *out, size_t outlen)
{
	snprintf(out, outlen, "%016" PRIu64, number);
}

int
journal_create(int journal_dir_fd, uint64_t number)
{
	char name[32];
	int fd;

	journal_file_name(number, name, sizeof(name));
	fd =
	    openat(journal_dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	if (fsync(journal_dir_fd) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------------ recovery */

struct record {
	bool withdrawn;
	size_t file; /* index of the journal file it came from */
	char name[128];
	const char *data; /* events only */
	size_t len;
};

struct recovery {
	struct record *records;
	size_t count;
	char **contents; /* journal files read, kept while records point into them */
	size_t n_contents;
};

static char *
read_file_at(int dir_fd, const char *name, size_t *len)
{
	struct buf b = BUF_INIT;
	char chunk[65536];
	ssize_t n;
	int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);

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

/* One record at p (end at lim) into rec; its length, or 0 at a torn or bad record. */
static size_t
parse_record(const char *p, const char *lim, struct record *rec)
{
	const char *nl = memchr(p, '\n', (size_t)(lim - p));
	char kind, name[128];
	size_t len = 0;
	char line[200];
	int fields;

	if (nl == NULL || (size_t)(nl - p) >= sizeof(line))
		return 0;
	memcpy(line, p, (size_t)(nl - p));
	line[nl - p] = '\0';
	memset(rec, 0, sizeof(*rec));
	fields = sscanf(line, "%c %127s %zu", &kind, name, &len);
	if (fields < 2 || (kind == 'E' && fields < 3))
		return 0;
	if (strchr(name, '/') != NULL || name[0] == '.')
		return 0;
	memcpy(rec->name, name, sizeof(name));
	if (kind == 'V') {
		rec->withdrawn = true;
		return (size_t)(nl + 1 - p);
	}
	if (kind != 'E' || (size_t)(lim - (nl + 1)) < len + 1 || nl[1 + len] != '\n')
		return 0;
	rec->data = nl + 1;
	rec->len = len;
	return (size_t)(nl + 1 - p) + len + 1;
}

static void
parse_journal(struct recovery *r, const char *data, size_t len, size_t file)
{
	const char *p = data, *lim = data + len;
	struct record rec;
	size_t used;

	while (p < lim && (used = parse_record(p, lim, &rec)) > 0) {
		rec.file = file;
		r->records = xgrow(r->records, r->count, sizeof(*r->records));
		r->records[r->count++] = rec;
		p += used;
	}
}

static bool
withdrawn(const struct recovery *r, const char *name)
{
	for (size_t i = 0; i < r->count; i++)
		if (r->records[i].withdrawn && strcmp(r->records[i].name, name) == 0)
			return true;
	return false;
}

/* Does dir_fd/name hold exactly these bytes? */
static bool
holds(int dir_fd, const char *name, const char *data, size_t len)
{
	size_t got_len = 0;
	char *got = read_file_at(dir_fd, name, &got_len);
	bool same = got != NULL && got_len == len && memcmp(got, data, len) == 0;

	free(got);
	return same;
}

static int
publish(int tmp_fd, int new_fd, const struct record *rec)
{
	int fd = openat(tmp_fd, rec->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);

	if (fd < 0)
		return -1;
	if (journal_write_all(fd, rec->data, rec->len) < 0 || fsync(fd) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0)
		return -1;
	return renameat(tmp_fd, rec->name, new_fd, rec->name);
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Journal file names in dir, sorted (equal width: number order). */
static char **
list_journals(int dir_fd, size_t *count)
{
	int fd = dup(dir_fd);
	DIR *dp = fd >= 0 ? fdopendir(fd) : NULL;
	char **names = NULL;
	struct dirent *d;

	*count = 0;
	if (dp == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	rewinddir(dp);
	while ((d = readdir(dp)) != NULL) {
		if (strlen(d->d_name) != 16 || strspn(d->d_name, "0123456789") != 16)
			continue;
		names = xgrow(names, *count, sizeof(*names));
		names[(*count)++] = xstrdup(d->d_name);
	}
	closedir(dp);
	if (*count > 1)
		qsort(names, *count, sizeof(*names), compare_names);
	return names;
}

/* Read every journal file in the directory; -1 with the reason in err. */
static int
load_journals(int journal_dir_fd, struct recovery *r, char ***files, size_t *n_files,
              struct buf *err)
{
	*files = list_journals(journal_dir_fd, n_files);
	for (size_t i = 0; i < *n_files; i++) {
		size_t len = 0;
		char *data = read_file_at(journal_dir_fd, (*files)[i], &len);

		if (data == NULL) {
			buf_printf(err, "cannot read journal %s: %s", (*files)[i], strerror(errno));
			return -1;
		}
		r->contents = xgrow(r->contents, r->n_contents, sizeof(*r->contents));
		r->contents[r->n_contents++] = data;
		parse_journal(r, data, len, i);
	}
	return 0;
}

static void
recovery_free(struct recovery *r, char **files, size_t n_files)
{
	for (size_t i = 0; i < n_files; i++)
		free(files[i]);
	free(files);
	for (size_t i = 0; i < r->n_contents; i++)
		free(r->contents[i]);
	free(r->contents);
	free(r->records);
}

/* Publish the events of file only (all when only is NULL) that are missing. */
static int
publish_missing(const struct recovery *r, char **files, const char *only, int tmp_fd, int new_fd,
                int cur_fd, unsigned long *published, struct buf *err)
{
	*published = 0;
	for (size_t i = 0; i < r->count; i++) {
		const struct record *rec = &r->records[i];

		if (only != NULL && strcmp(files[rec->file], only) != 0)
			continue;
		if (rec->withdrawn || withdrawn(r, rec->name) ||
		    holds(new_fd, rec->name, rec->data, rec->len) ||
		    holds(cur_fd, rec->name, rec->data, rec->len))
			continue;
		if (publish(tmp_fd, new_fd, rec) < 0) {
			buf_printf(err, "cannot publish event %s: %s", rec->name, strerror(errno));
			return -1;
		}
		(*published)++;
	}
	if (*published > 0 && fsync(new_fd) < 0) {
		buf_printf(err, "cannot sync published events: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int64_t
journal_recover(int journal_dir_fd, int tmp_fd, int new_fd, int cur_fd, unsigned long *recovered,
                struct buf *err)
{
	struct recovery r = { 0 };
	size_t n_files = 0;
	char **files = NULL;
	int64_t highest = -1;

	if (load_journals(journal_dir_fd, &r, &files, &n_files, err) == 0 &&
	    publish_missing(&r, files, NULL, tmp_fd, new_fd, cur_fd, recovered, err) == 0) {
		highest = n_files > 0 ? (int64_t)strtoull(files[n_files - 1], NULL, 10) : 0;
		for (size_t i = 0; i < n_files; i++)
			unlinkat(journal_dir_fd, files[i], 0);
		if (n_files > 0)
			fsync(journal_dir_fd);
	}
	recovery_free(&r, files, n_files);
	return highest;
}

int
journal_republish(int journal_dir_fd, uint64_t number, int tmp_fd, int new_fd, int cur_fd,
                  unsigned long *published, struct buf *err)
{
	struct recovery r = { 0 };
	size_t n_files = 0;
	char **files = NULL, name[32];
	int rc = -1;

	journal_file_name(number, name, sizeof(name));
	if (load_journals(journal_dir_fd, &r, &files, &n_files, err) == 0)
		rc = publish_missing(&r, files, name, tmp_fd, new_fd, cur_fd, published, err);
	recovery_free(&r, files, n_files);
	return rc;
}
