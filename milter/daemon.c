/*
 * daemon - detaching, pid file, socket access, dropping root; see daemon.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "milter/daemon.h"

int
daemon_lookup_user(const char *name, struct run_as *who, struct buf *err)
{
	struct passwd *pw;

	memset(who, 0, sizeof(*who));
	who->uid = getuid();
	who->gid = getgid();
	if (name == NULL || *name == '\0' || getuid() != 0)
		return 0;
	errno = 0;
	pw = getpwnam(name);
	if (pw == NULL) {
		buf_printf(err,
		           "user \"%s\" does not exist (create it with: adduser --system --group "
		           "--home /var/lib/mailward %s, or set daemon.user)",
		           name, name);
		return -1;
	}
	who->switch_user = true;
	who->name = xstrdup(name);
	who->uid = pw->pw_uid;
	who->gid = pw->pw_gid;
	return 0;
}

int
daemon_detach(struct buf *err)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0) {
		buf_printf(err, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	if (setsid() < 0) {
		buf_printf(err, "setsid: %s", strerror(errno));
		return -1;
	}
	if (chdir("/") < 0) {
		buf_printf(err, "chdir /: %s", strerror(errno));
		return -1;
	}
	fd = open("/dev/null", O_RDWR);
	if (fd < 0) {
		buf_printf(err, "/dev/null: %s", strerror(errno));
		return -1;
	}
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

int
daemon_pid_file(const char *path, struct buf *err)
{
	char text[32];
	int fd, n;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		buf_printf(err, "pid file %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		n = (int)read(fd, text, sizeof(text) - 1);
		text[n > 0 ? n : 0] = '\0';
		text[strcspn(text, "\n")] = '\0';
		buf_printf(err, "pid file %s is locked by a running mailward (pid %s)", path,
		           *text ? text : "unknown");
		close(fd);
		return -1;
	}
	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)n, 0) != n) {
		buf_printf(err, "pid file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
daemon_remove_pid_file(const char *path, int fd)
{
	if (fd < 0)
		return;
	/* May fail once root is gone; the lock, not the file, says who runs. */
	(void)unlink(path);
	close(fd);
}

static const char *
unix_socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

int
daemon_socket_access(const char *spec, const struct run_as *who, const char *group,
                     const char *mode, struct buf *err)
{
	const char *path = unix_socket_path(spec);
	gid_t gid = who->gid;

	if (path == NULL)
		return 0;
	if (group != NULL && *group != '\0') {
		struct group *gr = getgrnam(group);
		if (gr == NULL) {
			buf_printf(err, "daemon.socket_group: group \"%s\" does not exist", group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (chown(path, who->uid, gid) < 0 && getuid() == 0) {
		buf_printf(err, "chown %s: %s", path, strerror(errno));
		return -1;
	}
	if (chmod(path, (mode_t)strtoul(mode, NULL, 8)) < 0) {
		buf_printf(err, "chmod %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
daemon_prepare_dir(const char *path, const struct run_as *who, struct buf *err)
{
	char *copy = xstrdup(path);
	struct stat st;
	int result = 0;

	for (char *p = copy + 1;; p++) {
		bool last = *p == '\0';
		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(copy, 0750) == 0 ||
		    (last && stat(copy, &st) == 0 && S_ISDIR(st.st_mode))) {
			if (who->switch_user && chown(copy, who->uid, who->gid) < 0) {
				buf_printf(err, "chown %s: %s", copy, strerror(errno));
				result = -1;
				break;
			}
		} else if (errno != EEXIST) {
			buf_printf(err, "cannot create %s: %s", copy, strerror(errno));
			result = -1;
			break;
		}
		if (last)
			break;
		*p = '/';
	}
	free(copy);
	return result;
}

int
daemon_prepare_parent_dir(const char *file, const struct run_as *who, struct buf *err)
{
	const char *slash = strrchr(file, '/');
	char *dir;
	int result;

	if (slash == NULL || slash == file)
		return 0;
	dir = xstrndup(file, (size_t)(slash - file));
	result = daemon_prepare_dir(dir, who, err);
	free(dir);
	return result;
}

int
daemon_drop_privileges(const struct run_as *who, struct buf *err)
{
	if (!who->switch_user)
		return 0;
	if (setgroups(0, NULL) < 0 || initgroups(who->name, who->gid) < 0 || setgid(who->gid) < 0 ||
	    setuid(who->uid) < 0) {
		buf_printf(err, "cannot become user %s: %s", who->name, strerror(errno));
		return -1;
	}
	if (who->uid != 0 && setuid(0) == 0) {
		buf_printf(err, "could regain root after switching to %s", who->name);
		return -1;
	}
	return 0;
}

/*
 * libmilter answers the end of a message with several small writes (each
 * header change, then the verdict).  With Nagle's algorithm on, the second
 * waits for the MTA to acknowledge the first, which a client that is busy
 * waiting for the verdict delays by 40 ms.  libmilter does not hand out its
 * listening socket, so find it (the one listening TCP socket this process
 * has) and turn Nagle off there; accepted connections inherit it.
 */
bool
daemon_socket_is_local(const char *spec)
{
	return strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0 || spec[0] == '/';
}

void
daemon_socket_nodelay(void)
{
	for (int fd = 0; fd < 1024; fd++) {
		int listening = 0, one = 1;
		struct sockaddr_storage ss;
		socklen_t len = sizeof(listening), slen = sizeof(ss);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
			continue;
		if (getsockname(fd, (struct sockaddr *)&ss, &slen) < 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
}
