/*
 * log - the one logging module; see log.h.
 *
 * State: the level and destination below are the process's logging
 * configuration, written at start-up and when a policy snapshot is
 * installed, read by every thread; atomics keep that race-free without a
 * lock on the hot path.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static _Atomic int log_level = LOG_LEVEL_INFO;
static _Atomic int log_dest = LOG_TO_STDERR;
static const char *log_ident = "mailward";

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error", [LOG_LEVEL_WARNING] = "warning", [LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",   [LOG_LEVEL_DEBUG] = "debug",
};

static const int syslog_priorities[] = {
	[LOG_LEVEL_ERROR] = LOG_ERR,     [LOG_LEVEL_WARNING] = LOG_WARNING,
	[LOG_LEVEL_NOTICE] = LOG_NOTICE, [LOG_LEVEL_INFO] = LOG_INFO,
	[LOG_LEVEL_DEBUG] = LOG_DEBUG,
};

void
log_open(const char *ident, enum log_destination dest, int syslog_facility)
{
	log_ident = ident;
	if (dest == LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, syslog_facility);
	atomic_store(&log_dest, dest);
}

void
log_set_level(enum log_level level)
{
	atomic_store(&log_level, level);
}

bool
log_enabled(enum log_level level)
{
	return (int)level <= atomic_load(&log_level);
}

/*
 * One write(2) per line to stderr, so lines from concurrent threads never
 * interleave.
 */
static void
log_to_stderr(enum log_level level, const char *line)
{
	char stamp[40], out[8192];
	struct timeval tv;
	struct tm tm;
	int n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(out, sizeof(out), "%s.%03ldZ %s[%ld]: %s: %s\n", stamp,
	             (long)(tv.tv_usec / 1000), log_ident, (long)getpid(), level_names[level],
	             line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out)) {
		n = sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, out, (size_t)n);
}

void
log_vmsg(enum log_level level, const char *qid, const char *fmt, va_list ap)
{
	char text[4096], line[4200];

	if (!log_enabled(level))
		return;
	vsnprintf(text, sizeof(text), fmt, ap);
	if (qid != NULL)
		snprintf(line, sizeof(line), "%s: %s", *qid ? qid : "NOQUEUE", text);
	else
		snprintf(line, sizeof(line), "%s", text);
	if (atomic_load(&log_dest) == LOG_TO_SYSLOG)
		syslog(syslog_priorities[level], "%s", line);
	else
		log_to_stderr(level, line);
}

void
log_msg(enum log_level level, const char *qid, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, qid, fmt, ap);
	va_end(ap);
}

void
log_fatal(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(status);
}

void
log_panic(const char *fmt, ...)
{
	va_list ap;
	char text[2048];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_msg(LOG_LEVEL_ERROR, NULL, "panic: %s", text);
	abort();
}
