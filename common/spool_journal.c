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

/* FNV-1a, 64 bits: enough to tell a record from a torn or stale one. */
static uint64_t
checksum_add(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define CHECKSUM_INIT 0xcbf29ce484222325ULL

/* pwrite() all of iov at offset (short writes and EINTR continued); -1 with errno. */
static int
pwrite_all(int fd, struct iovec *iov, int count, off_t offset)
{
	while (count > 0) {
		ssize_t n = pwritev(fd, iov, count, offset);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		offset += n;
		while (count > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			count--;
		}
		if (count > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/*
 * One record: HEAD (without its checksum), the checksum of HEAD and data,
 * then data and its newline for events.  A failed write leaves garbage
 * past end that the next record overwrites, and that recovery would
 * refuse anyway (its checksum cannot match).
 */
static int
put_record(int fd, off_t end, const char *head, size_t head_len, const char *data, size_t len,
           off_t *new_end)
{
	char sum[24];
	uint64_t h = checksum_add(checksum_add(CHECKSUM_INIT, head, head_len), data, len);
	int n = snprintf(sum, sizeof(sum), " %016" PRIx64 "\n", h);
	struct iovec iov[4] = { { (void *)head, head_len },
		                { sum, (size_t)n },
		                { (void *)data, len },
		                { (void *)"\n", data != NULL ? 1 : 0 } };
	size_t total = head_len + (size_t)n + len + iov[3].iov_len;

	if (pwrite_all(fd, iov, data != NULL ? 4 : 2, end) < 0)
		return -1;
	*new_end = end + (off_t)total;
	return 0;
}

int
journal_append_event(int fd, uint64_t number, off_t end, const char *name, const char *data,
                     size_t len, off_t *new_end)
{
	char head[160];
	int n = snprintf(head, sizeof(head), "E %s %zu %" PRIu64, name, len, number);

	if (n < 0 || (size_t)n >= sizeof(head)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return put_record(fd, end, head, (size_t)n, data, len, new_end);
}

int
journal_append_void(int fd, uint64_t number, off_t end, const char *name, off_t *new_end)
{
	char head[160];
	int n = snprintf(head, sizeof(head), "V %s %" PRIu64, name, number);

	if (n < 0 || (size_t)n >= sizeof(head)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return put_record(fd, end, head, (size_t)n, NULL, 0, new_end);
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
	fd = openat(journal_dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
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

int
journal_extend(int fd, off_t from, off_t to)
{
	static const char zeros[65536];

	while (from < to) {
		size_t n =
		    (size_t)(to - from) < sizeof(zeros) ? (size_t)(to - from) : sizeof(zeros);
		ssize_t done = pwrite(fd, zeros, n, from);
		if (done < 0 && errno == EINTR)
			continue;
		if (done < 0)
			return -1;
		from += done;
	}
	return fdatasync(fd);
}

int
journal_rename(int journal_dir_fd, uint64_t from, uint64_t to)
{
	char old_name[32], new_name[32];

	journal_file_name(from, old_name, sizeof(old_name));
	journal_file_name(to, new_name, sizeof(new_name));
	if (renameat(journal_dir_fd, old_name, journal_dir_fd, new_name) < 0)
		return -1;
	return fsync(journal_dir_fd);
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

/*
 * One record of journal number at p (end at lim) into rec; its length, or
 * 0 at a torn, damaged or stale (an earlier use of a recycled file) record.
 */
static size_t
parse_record(const char *p, const char *lim, uint64_t number, struct record *rec)
{
	const char *nl = memchr(p, '\n', (size_t)(lim - p));
	char kind, name[128], line[200];
	size_t len = 0, head_len;
	uint64_t owner = 0, sum = 0;
	const char *last_space;
	int fields;

	if (nl == NULL || (size_t)(nl - p) >= sizeof(line))
		return 0;
	memcpy(line, p, (size_t)(nl - p));
	line[nl - p] = '\0';
	if ((last_space = strrchr(line, ' ')) == NULL)
		return 0;
	head_len = (size_t)(last_space - line);
	memset(rec, 0, sizeof(*rec));
	if (line[0] == 'E')
		fields = sscanf(line, "%c %127s %zu %" SCNu64 " %" SCNx64, &kind, name, &len,
		                &owner, &sum);
	else
		fields =
		    sscanf(line, "%c %127s %" SCNu64 " %" SCNx64, &kind, name, &owner, &sum) + 1;
	if (fields != 5 || owner != number || strchr(name, '/') != NULL || name[0] == '.')
		return 0;
	/* len comes from the file: compared with what is there, never added to. */
	if (kind == 'E' && (len >= (size_t)(lim - (nl + 1)) || nl[1 + len] != '\n'))
		return 0;
	if (kind != 'E' && kind != 'V')
		return 0;
	if (checksum_add(checksum_add(CHECKSUM_INIT, line, head_len), kind == 'E' ? nl + 1 : NULL,
	                 kind == 'E' ? len : 0) != sum)
		return 0;
	memcpy(rec->name, name, sizeof(name));
	if (kind == 'V') {
		rec->withdrawn = true;
		return (size_t)(nl + 1 - p);
	}
	rec->data = nl + 1;
	rec->len = len;
	return (size_t)(nl + 1 - p) + len + 1;
}

static void
parse_journal(struct recovery *r, const char *data, size_t len, size_t file, uint64_t number)
{
	const char *p = data, *lim = data + len;
	struct record rec;
	size_t used;

	while (p < lim && (used = parse_record(p, lim, number, &rec)) > 0) {
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
		parse_journal(r, data, len, i, strtoull((*files)[i], NULL, 10));
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
