/*
 * signing - the signing table's hooks into the settings table
 */
#ifndef MW_POLICY_SIGNING_H
#define MW_POLICY_SIGNING_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "policy/policy.h"

int signing_entry_finish(void *elem, struct buf *why);
void signing_entry_release(void *elem);
bool check_domain_pattern(const char *value, char *err, size_t errlen);
int verp_key_finish(void *elem, struct buf *why);
int webhook_finish(void *elem, struct buf *why);
void webhook_release(void *elem);
bool check_webhook_url(const char *value, char *err, size_t errlen);
/* Does a signing-table style pattern (example.com, *.example.com) cover domain? */
bool domain_pattern_covers(const char *pattern, const char *domain);
/* d= of a signature made with this entry ("*.example.com" signs as example.com). */
const char *signing_domain(const struct policy_domain *entry);

#endif
