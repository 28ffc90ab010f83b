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
#include "common/spool.h"
#include "common/store.h"

struct history;
struct reputation;

struct services {
	struct spool *spool;
	struct store *store;
	struct dns_resolver *resolver; /* the dns section; NULL when inbound.mode is off */
	struct history *history;       /* DMARC history writer (milter/history.h) */
	struct reputation *reputation; /* counters and pauses (milter/reputation.h) */
};

#endif
