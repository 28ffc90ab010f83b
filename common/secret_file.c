/*
 * secret_file - open a file that holds a secret; see secret_file.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secret_file.h"

/* Who besides the owner may use the file, in words, or NULL: nobody. */
static const char *
exposure(mode_t mode)
{
	if (mode & S_IROTH)
		return "readable by others";
	if (mode & S_IRGRP)
		return "readable by its group";
	if (mode & (S_IWOTH | S_IXOTH))
		return "writable by others";
	if (mode & (S_IWGRP | S_IXGRP))
		return "writable by its group";
	return NULL;
}

int
secret_file_open(const char *path, const char *what, struct buf *err)
{
	struct stat st;
	const char *open_to;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 || fstat(fd, &st) < 0) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		buf_printf(err, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((open_to = exposure(st.st_mode)) != NULL) {
		buf_printf(err,
		           "%s: %s is %s (mode %04o); chmod 600 %s "
		           "(owned by the user mailward runs as) and keep it secret",
		           path, what, open_to, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	return fd;
}
