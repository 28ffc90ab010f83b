/*
 * timefmt - ISO 8601 UTC timestamps; see timefmt.h.
 */
#include "config.h"

#include <stdio.h>

#include "common/timefmt.h"

void
timefmt_iso8601(const struct timespec *ts, char *out, size_t outlen)
{
	char date[24];
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%03ldZ", date, ts->tv_nsec / 1000000L);
}
