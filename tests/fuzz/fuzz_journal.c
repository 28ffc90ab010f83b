/*
 * fuzz_journal - recovery of the spool's write-ahead journal
 *
 * The input is up to three journal files separated by "%%" lines, written
 * as journal/0000000000000001 and on into a spool directory of this
 * process, then recovered with journal_recover() as spool_open() does
 * after a crash.  Whatever the journals hold, recovery must not crash,
 * publish no more events than it counts, and leave no journal behind
 * when it succeeds.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/spool_journal.h"
#include "tests/fuzz/fuzz.h"

struct spool_dirs {
	int journal, tmp, new, cur;
};

/* In memory where possible: the journal fsyncs every file it makes. */
static char shm_template[] = "/dev/shm/mailward-fuzz-spool-XXXXXX";
static char tmp_template[] = "/tmp/mailward-fuzz-spool-XXXXXX";
static const char *spool_path;
static const char *const spool_subdirs[] = { "journal", "tmp", "new", "cur" };

static int
dir_open(const char *name)
{
	char path[sizeof(shm_template) + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", spool_path, name);
	if ((mkdir(path, 0700) < 0 && errno != EEXIST) ||
	    (fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		perror(path);
		abort();
	}
	return fd;
}

/* Remove every file in dir; returns how many there were. */
static size_t
dir_empty(int dir_fd)
{
	DIR *d = fdopendir(dup(dir_fd));
	struct dirent *e;
	size_t n = 0;

	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		unlinkat(dir_fd, e->d_name, 0);
		n++;
	}
	closedir(d);
	return n;
}

/* At exit: the files are gone after each input, the directories remain. */
static void
spool_remove(void)
{
	char path[sizeof(shm_template) + 16];

	for (size_t i = 0; i < sizeof(spool_subdirs) / sizeof(spool_subdirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", spool_path, spool_subdirs[i]);
		rmdir(path);
	}
	rmdir(spool_path);
}

static const struct spool_dirs *
spool_dirs(void)
{
	static struct spool_dirs dirs = { -1, -1, -1, -1 };

	if (dirs.journal < 0) {
		spool_path = mkdtemp(shm_template);
		if (spool_path == NULL && (spool_path = mkdtemp(tmp_template)) == NULL)
			abort();
		atexit(spool_remove);
		dirs =
		    (struct spool_dirs){ dir_open(spool_subdirs[0]), dir_open(spool_subdirs[1]),
			                 dir_open(spool_subdirs[2]), dir_open(spool_subdirs[3]) };
	}
	return &dirs;
}

static void
journal_put(int dir_fd, uint64_t number, const char *data, size_t len)
{
	int fd = journal_create(dir_fd, number);

	if (fd < 0 || journal_write_all(fd, data, len) < 0)
		abort();
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct spool_dirs *dirs = spool_dirs();
	struct fuzz_parts parts;
	unsigned long recovered = 0;
	struct buf err = BUF_INIT;

	fuzz_quiet();
	fuzz_split(data, size, 3, &parts);
	for (size_t i = 0; i < parts.count; i++)
		journal_put(dirs->journal, i + 1, parts.part[i], parts.len[i]);
	int64_t highest =
	    journal_recover(dirs->journal, dirs->tmp, dirs->new, dirs->cur, &recovered, &err);
	if (highest >= 0 && dir_empty(dirs->journal) != 0)
		abort(); /* recovery succeeded but left a journal */
	if (dir_empty(dirs->new) > recovered)
		abort(); /* published more events than it says */
	dir_empty(dirs->journal);
	dir_empty(dirs->tmp);
	fuzz_parts_free(&parts);
	buf_free(&err);
	return 0;
}
