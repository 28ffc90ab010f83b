/*
 * timefmt - timestamps as the event schema writes them
 *
 * ISO 8601 in UTC with milliseconds, "2026-11-23T19:28:23.123Z", the form
 * SES uses in its notifications.
 */
#ifndef MW_TIMEFMT_H
#define MW_TIMEFMT_H

#include <stddef.h>
#include <time.h>

#define TIMEFMT_ISO8601_LEN 32

void timefmt_iso8601(const struct timespec *ts, char *out, size_t outlen);

#endif
