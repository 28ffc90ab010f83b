/*
 * services - the long-lived services the message path uses
 *
 * Created by main() before the milter starts serving and never changed
 * afterwards (settings that would change them take effect at restart), so
 * every thread reads them without locks.
 */
#ifndef MW_SERVICES_H
#define MW_SERVICES_H

#include "common/dns.h"
#include "common/metrics.h"
#include "common/spool.h"
#include "common/store.h"

struct history;
struct limits;
struct send_log;
struct reputation;

struct services {
	struct spool *spool;
	struct store *store;
	struct dns_resolver *resolver; /* the dns section; NULL when inbound.mode is off */
	struct history *history;       /* DMARC history writer (milter/history.h) */
	bool local_socket;             /* the milter listens on a unix-domain socket */
	struct limits *limits;         /* sending limits' counters (milter/limits.h) */
	struct metrics *metrics;       /* counters (milter/stats.h); updates are atomic */
	struct send_log *send_log;     /* Message-ID index writer (milter/send_log.h) */
	struct reputation *reputation; /* counters and pauses (milter/reputation.h) */
};

#endif
