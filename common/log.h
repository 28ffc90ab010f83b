/*
 * log - the one logging module
 *
 * Every line about a message starts with the MTA's queue ID (or NOQUEUE
 * before the MTA has assigned one), like Postfix's own logging, so an
 * administrator can grep one ID across the MTA and mailward.  Lines are
 * "QID: text key=value ..." with the structured part as key=value pairs.
 *
 * The level check lives here, never at the call site.  The destination and
 * level are process-wide: set once at start-up and again when a new policy
 * snapshot is installed.
 *
 * Three tiers (Postfix msg(3)): callers warn and return an error for bad
 * input; log_fatal() is for a broken environment before the milter starts
 * serving; log_panic() for a broken internal invariant.
 */
#ifndef MW_LOG_H
#define MW_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum log_destination {
	LOG_TO_STDERR,
	LOG_TO_SYSLOG,
};

void log_open(const char *ident, enum log_destination dest, int syslog_facility);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *qid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level level, const char *qid, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define log_error(qid, ...)   log_msg(LOG_LEVEL_ERROR, (qid), __VA_ARGS__)
#define log_warning(qid, ...) log_msg(LOG_LEVEL_WARNING, (qid), __VA_ARGS__)
#define log_notice(qid, ...)  log_msg(LOG_LEVEL_NOTICE, (qid), __VA_ARGS__)
#define log_info(qid, ...)    log_msg(LOG_LEVEL_INFO, (qid), __VA_ARGS__)
#define log_debug(qid, ...)   log_msg(LOG_LEVEL_DEBUG, (qid), __VA_ARGS__)

/* Broken environment at start-up: log and exit(status). */
void log_fatal(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* Broken internal invariant: log and abort(). */
void log_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
