/*
 * daemon - becoming a well-behaved daemon
 *
 * Detaching from the terminal, the pid file (locked, so a second instance
 * on the same pid file refuses to start), the unix socket's owner and
 * mode, directories the unprivileged user must write, and dropping root.
 * Each returns 0, or -1 with the reason in err; main() turns that into a
 * fatal start-up error.
 */
#ifndef MW_DAEMON_H
#define MW_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/buf.h"

struct run_as {
	bool switch_user; /* started as root with a user configured */
	char *name;
	uid_t uid;
	gid_t gid;
};

int daemon_lookup_user(const char *name, struct run_as *who, struct buf *err);
int daemon_detach(struct buf *err);
/* The open, locked pid file descriptor, or -1. */
int daemon_pid_file(const char *path, struct buf *err);
void daemon_remove_pid_file(const char *path, int fd);
int daemon_socket_access(const char *spec, const struct run_as *who, const char *group,
                         const char *mode, struct buf *err);
/* mkdir -p, handing the directories it creates (and the last one) to who. */
int daemon_prepare_dir(const char *path, const struct run_as *who, struct buf *err);
/* The same for the directory a file lives in. */
int daemon_prepare_parent_dir(const char *file, const struct run_as *who, struct buf *err);
/* Turn Nagle's algorithm off on libmilter's TCP listening socket. */
void daemon_socket_nodelay(void);
/* Does the socket spec name a unix-domain socket (unix:, local: or a path)? */
bool daemon_socket_is_local(const char *spec);
int daemon_drop_privileges(const struct run_as *who, struct buf *err);

#endif
