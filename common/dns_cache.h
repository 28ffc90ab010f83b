/*
 * dns_cache - answers kept in process for their TTL (internal to dns.c)
 *
 * libunbound caches too, but reaching its cache costs a round trip to its
 * worker thread (about twenty system calls and two context switches per
 * lookup, measured); a message's SPF, DKIM-key and DMARC lookups mostly ask
 * the same few names again and again, so mailward keeps answers (found,
 * nodata, nxdomain; never a temporary failure) for their TTL, at most an
 * hour, in a bounded table shared by all threads.
 */
#ifndef MW_DNS_CACHE_H
#define MW_DNS_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/dns.h"

struct dns_cache;

struct dns_cache *dns_cache_new(size_t max_entries);
void dns_cache_free(struct dns_cache *cache);
/* A fresh copy of a live answer into ans; false when there is none. */
bool dns_cache_get(struct dns_cache *cache, const char *name, enum dns_type type,
                   struct dns_answer *ans);
/* Keep a copy of ans for ans->ttl seconds (nothing when 0 or a temporary failure). */
void dns_cache_put(struct dns_cache *cache, const char *name, enum dns_type type,
                   const struct dns_answer *ans);

#endif
