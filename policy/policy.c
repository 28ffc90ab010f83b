/*
 * policy - snapshots of the policy file and their lifecycle; see policy.h.
 *
 * The installed snapshot is the one mutable global of the daemon.  It is
 * swapped under a mutex; readers take a reference under the same mutex, so
 * a snapshot can never be freed between being read and being referenced.
 * The critical sections are a pointer copy and an increment.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "common/xalloc.h"
#include "policy/load.h"
#include "policy/policy.h"
#include "policy/settings.h"
#include "policy/streams.h"

static pthread_mutex_t installed_lock = PTHREAD_MUTEX_INITIALIZER;
static struct policy *installed;

static void
policy_free(struct policy *policy)
{
	settings_free(policy_schema, policy);
	netlist_free(&policy->trusted);
	netlist_free(&policy->forwarder_nets);
	free(policy->verp_key_table);
	free(policy->path);
	free(policy);
}

/* A CIDR list already validated by the loader, parsed. */
static void
parse_netlist(const struct strlist *texts, struct netlist *out)
{
	char err[256];

	out->nets = xcalloc(texts->count + 1, sizeof(struct cidr));
	for (size_t i = 0; i < texts->count; i++)
		if (cidr_parse(texts->items[i], &out->nets[out->count], err, sizeof(err)))
			out->count++;
}

/* Derived data: parsed forms of validated settings. */
static void
policy_derive(struct policy *policy)
{
	policy->verp_key_table = xcalloc(policy->verp_key_count + 1, sizeof(struct verp_key));
	for (size_t i = 0; i < policy->verp_key_count; i++)
		policy->verp_key_table[i] = policy->verp_keys[i].key;

	parse_netlist(&policy->trusted_networks, &policy->trusted);
	parse_netlist(&policy->forwarders, &policy->forwarder_nets);
}

/* Rules that span settings; reported against the file. */
static int
policy_cross_check(const struct policy *policy, struct buf *errors)
{
	int problems = 0;

	if (policy->mail_from_count > 0 && policy->verp_key_count == 0) {
		buf_printf(
		    errors,
		    "%s: mail_from: needs a secret for bounce tokens in feedback.verp_keys\n",
		    policy->path);
		problems++;
	}
	if ((*policy->unsubscribe_url != '\0' || *policy->unsubscribe_mailto != '\0') &&
	    policy->verp_key_count == 0) {
		buf_printf(errors,
		           "%s: unsubscribe: needs a secret for its tokens in feedback.verp_keys\n",
		           policy->path);
		problems++;
	}
	for (size_t i = 0; i < policy->verp_key_count; i++)
		for (size_t j = 0; j < i; j++)
			if (policy->verp_keys[i].id == policy->verp_keys[j].id) {
				buf_printf(errors, "%s: feedback.verp_keys: id %ld is used twice\n",
				           policy->path, policy->verp_keys[i].id);
				problems++;
			}
	for (size_t i = 0; i < policy->webhook_count; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(policy->webhooks[i].name, policy->webhooks[j].name) == 0) {
				buf_printf(errors, "%s: webhooks: name \"%s\" is used twice\n",
				           policy->path, policy->webhooks[i].name);
				problems++;
			}
	problems += streams_cross_check(policy, errors);
	return problems ? -1 : 0;
}

static struct policy *
policy_new(const char *path)
{
	struct policy *policy = xcalloc(1, sizeof(*policy));

	atomic_init(&policy->refs, 1);
	policy->path = xstrdup(path ? path : "(defaults)");
	settings_apply_defaults(policy_schema, policy);
	return policy;
}

struct policy *
policy_defaults(void)
{
	struct policy *policy = policy_new(NULL);

	policy_derive(policy);
	return policy;
}

struct policy *
policy_load(const char *path, struct buf *errors)
{
	struct policy *policy = policy_new(path);

	if (settings_load_file(path, policy_schema, policy, errors) < 0 ||
	    policy_cross_check(policy, errors) < 0) {
		policy_free(policy);
		return NULL;
	}
	policy_derive(policy);
	return policy;
}

void
policy_install(struct policy *policy)
{
	struct policy *old;

	pthread_mutex_lock(&installed_lock);
	old = installed;
	installed = policy;
	pthread_mutex_unlock(&installed_lock);
	if (old != NULL)
		policy_release(old);
}

void
policy_uninstall(void)
{
	policy_install(NULL);
}

struct policy *
policy_acquire(void)
{
	struct policy *policy;

	pthread_mutex_lock(&installed_lock);
	policy = installed;
	if (policy != NULL)
		atomic_fetch_add(&policy->refs, 1);
	pthread_mutex_unlock(&installed_lock);
	return policy;
}

void
policy_release(struct policy *policy)
{
	if (policy != NULL && atomic_fetch_sub(&policy->refs, 1) == 1)
		policy_free(policy);
}

int
policy_syslog_facility(const struct policy *policy)
{
	static const int facilities[] = { LOG_MAIL,   LOG_DAEMON, LOG_LOCAL0, LOG_LOCAL1,
		                          LOG_LOCAL2, LOG_LOCAL3, LOG_LOCAL4, LOG_LOCAL5,
		                          LOG_LOCAL6, LOG_LOCAL7 };

	return facilities[policy->log_facility];
}

const char *
policy_action_name(enum policy_action action)
{
	static const char *const names[] = { "accept", "tempfail", "reject" };

	return names[action];
}

void
policy_store_options(const struct policy *policy, struct store_options *out)
{
	out->backend = (enum store_backend)policy->store_backend;
	out->redis = policy->store_redis;
	out->redis_prefix = policy->store_redis_prefix;
	out->redis_timeout_ms = (int)policy->store_redis_timeout_ms;
}
