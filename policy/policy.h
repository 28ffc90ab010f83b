/*
 * policy - the policy file as one immutable, reference-counted snapshot
 *
 * policy_load() reads a libconfig file through the settings table
 * (policy/schema.c) into a struct policy, or reports every problem it found
 * as "file:line: message" lines.  The daemon installs a loaded snapshot with
 * policy_install(); connections pin the current one with policy_acquire()
 * and let go with policy_release(), so a reload (SIGHUP) affects only
 * messages that start after it, and a snapshot is freed when its last user
 * is done.  Nothing in a snapshot changes after it is loaded.
 */
#ifndef MW_POLICY_H
#define MW_POLICY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/dkim_sign.h"
#include "common/netaddr.h"
#include "common/store.h"
#include "common/verp.h"

/* What to do when something fails: the configured outcome of a failure class. */
enum policy_action {
	ACTION_ACCEPT,
	ACTION_TEMPFAIL,
	ACTION_REJECT,
};

enum policy_log_to {
	POLICY_LOG_SYSLOG,
	POLICY_LOG_STDERR,
};

enum policy_event_shape {
	EVENT_SHAPE_EVENT,        /* "eventType": SES event publishing */
	EVENT_SHAPE_NOTIFICATION, /* "notificationType": SES identity notifications */
};

struct strlist {
	char **items;
	size_t count;
};

/* domains: the signing table; each entry's key is loaded with the snapshot. */
enum policy_feedback_action {
	FEEDBACK_ACTION_DISCARD, /* parsed into events, then dropped */
	FEEDBACK_ACTION_DELIVER, /* delivered as it is */
	FEEDBACK_ACTION_HEADER,  /* delivered with X-Mailward-Feedback */
};

enum policy_unsubscribe_existing {
	UNSUBSCRIBE_KEEP,    /* the application's List-Unsubscribe stays */
	UNSUBSCRIBE_REPLACE, /* ours replaces it */
	UNSUBSCRIBE_DEFAULT, /* a stream's: as the unsubscribe group says */
};

enum policy_inbound_mode {
	INBOUND_ENFORCE, /* honour published DMARC policies */
	INBOUND_MONITOR, /* evaluate and record, never reject or quarantine */
	INBOUND_OFF,     /* no inbound checks */
};

enum policy_length_tag {
	LENGTH_TAG_ACCEPT, /* verify signatures with l= over the signed part */
	LENGTH_TAG_IGNORE, /* treat signatures with l= as not verifiable */
};

enum policy_quarantine {
	QUARANTINE_HOLD,   /* the MTA's hold queue (smfi_quarantine) */
	QUARANTINE_HEADER, /* deliver with inbound.quarantine_header added */
};

struct policy_domain {
	char *domain; /* "example.com", or "*.example.com" for its subdomains */
	char *selector;
	char *key_file;
	int algorithm; /* enum dkim_alg */
	char *stream;
	struct dkim_key key;
};

/* mail_from: custom MAIL FROM (bounce) domains, by From domain. */
struct policy_mail_from {
	char *domain; /* as in the signing table: "example.com" or "*.example.com" */
	char *bounce_domain;
};

/* feedback.verp_keys: secrets of bounce-address tokens; the first signs. */
struct policy_verp_key {
	long id;
	char *file;
	struct verp_key key;
};

/* dns.forward_zones: a zone answered by its own servers (split horizon). */
struct policy_dns_zone {
	char *zone;
	struct strlist nameservers;
};

/*
 * Reputation limits of a stream, or of every From domain (the reputation
 * group): rates as percent strings, durations as "24h" (common/reputation.h
 * reads them; the loader has checked them).
 */
struct policy_reputation {
	char *warn_complaint_rate;
	char *warn_bounce_rate;
	char *pause_complaint_rate;
	char *pause_bounce_rate;
	long min_sends;
	char *window;
	char *auto_resume;
};

/* streams: sending streams, the self-hosted form of configuration sets. */
enum policy_suppression_scope {
	SUPPRESSION_SCOPE_ACCOUNT, /* the account's list and the stream's own */
	SUPPRESSION_SCOPE_STREAM,  /* the stream's own list only */
};

struct policy_stream {
	char *name;
	bool bulk;
	char *unsubscribe_url;    /* "": the unsubscribe group's */
	int unsubscribe_existing; /* enum policy_unsubscribe_existing */
	struct policy_reputation reputation;
	/* selection, tags, suppression scope, sending limits (policy/streams.h) */
	struct strlist auth_users;   /* SMTP AUTH users whose mail is in this stream */
	struct strlist senders;      /* envelope sender patterns */
	struct strlist default_for;  /* From domain patterns this stream is the default of */
	struct strlist tags;         /* "name=value", added to every event's tags */
	int suppression;             /* enum policy_suppression_scope */
	long max_per_day;            /* messages per rolling 24 h; 0: no limit */
	long max_rate;               /* messages per second; 0: no limit */
	long max_recipients;         /* per message; 0: no limit */
	bool delivery_notifications; /* ask for success DSNs: Delivery events */
};

/* identities: who may send with which From addresses (policy/streams.h). */
struct policy_identity {
	struct strlist users;    /* SMTP AUTH users; "*": any authenticated one */
	struct strlist networks; /* client networks (CIDR) */
	struct strlist from;     /* From address patterns they may use */
	struct netlist nets;     /* networks, parsed */
};

/* user_limits: sending limits of SMTP AUTH users, each counted on its own. */
struct policy_user_limits {
	struct strlist users; /* "*": every authenticated user not listed before */
	long max_per_day;
	long max_rate;
	long max_recipients;
};

/* webhooks: endpoints the dispatcher (mailward events dispatch) posts events to. */
struct policy_webhook {
	char *name; /* names its dead-letter folder SPOOL/dead/NAME */
	char *url;
	bool allow_http; /* http:// to a host that is not loopback */
	char *topic_arn;
	int shape; /* enum policy_event_shape */
	char *signing_key;
	char *signing_cert_url;
	char *unsubscribe_url;
	long max_attempts;
	long max_hours;
	long retry_min_ms;
	long retry_max_ms;
	bool tls_verify;
	long timeout;
	bool confirm_subscription; /* SNS SubscriptionConfirmation handshake first */
	struct dkim_key key;       /* signing_key, loaded with the snapshot */
};

struct policy {
	atomic_int refs;
	char *path;

	/* daemon */
	char *socket;
	char *user;
	char *socket_group;
	char *socket_mode; /* octal text, validated */
	char *pid_file;
	long milter_timeout;
	long listen_backlog;

	/* log */
	int log_to;       /* enum policy_log_to */
	int log_level;    /* enum log_level */
	int log_facility; /* index into the facility choices */

	/* failure: configured outcome per failure class */
	int on_internal_error;
	int on_policy_unavailable;
	int on_spool_unwritable;
	int on_dns_temperror;
	int on_store_unavailable;

	/* direction */
	struct strlist trusted_networks;
	struct netlist trusted; /* trusted_networks, parsed */
	bool outbound_authenticated;
	struct strlist outbound_daemon_names;

	struct policy_domain *domains;
	size_t domain_count;

	struct policy_mail_from *mail_from;
	size_t mail_from_count;

	/* signing */
	int header_canon; /* enum dkim_canon */
	int body_canon;
	long signature_expire;
	bool add_message_id;
	int on_unsigned; /* enum policy_action: no key for the From domain */

	/* dns */
	struct strlist dns_nameservers;
	struct policy_dns_zone *dns_zones;
	size_t dns_zone_count;
	long dns_query_timeout_ms;
	long dns_message_budget_ms;
	bool dns_dnssec;
	char *dns_trust_anchor;

	/* inbound */
	char *authserv_id;
	int inbound_mode; /* enum policy_inbound_mode */
	bool received_spf;
	long dkim_max_signatures;
	long dkim_min_rsa_bits;
	int dkim_length_tag; /* enum policy_length_tag */
	int quarantine_as;   /* enum policy_quarantine */
	char *quarantine_header;
	struct strlist monitor_domains;
	struct strlist forwarders;
	struct netlist forwarder_nets; /* forwarders, parsed */
	bool dmarc_history;
	char *report_org_name;
	char *report_email;

	struct policy_stream *streams;
	size_t stream_count;
	struct policy_identity *identities;
	size_t identity_count;
	struct policy_user_limits *user_limits;
	size_t user_limit_count;
	struct policy_reputation domain_reputation; /* the reputation group */

	/* unsubscribe */
	char *unsubscribe_url;
	char *unsubscribe_mailto;
	int unsubscribe_existing; /* enum policy_unsubscribe_existing */
	bool unsubscribe_precedence_bulk;
	char *unsubscribe_listen;
	bool refuse_suppressed;
	long unsubscribe_token_days;
	long unsubscribe_timeout;         /* seconds a request may take */
	long unsubscribe_max_connections; /* open at once, all clients */
	long unsubscribe_max_per_ip;      /* open at once from one address; 0: no limit */

	/* feedback */
	struct strlist bounce_domains;
	struct strlist complaint_addresses;
	int feedback_bounce_action;    /* enum policy_feedback_action */
	int feedback_complaint_action; /* enum policy_feedback_action */
	long feedback_max_bytes;
	bool feedback_suppress;
	bool feedback_read_reports; /* DSN/ARF reports to any other address too */
	long correlation_days;      /* feedback.correlation_days: Message-ID index */
	struct policy_verp_key *verp_keys;
	size_t verp_key_count;
	struct verp_key *verp_key_table; /* the keys alone, for verp_decode() */

	/* events */
	char *spool_dir;
	int durability; /* enum spool_durability */
	long checkpoint_seconds;
	int event_shape;
	long max_header_bytes;

	struct policy_webhook *webhooks;
	size_t webhook_count;

	/* store */
	int store_backend; /* enum store_backend */
	char *store_path;
	char *store_redis;
	char *store_redis_prefix;
	long store_redis_timeout_ms;

	/* metrics */
	bool metrics_enabled;
	char *metrics_listen;
};

/* Load and validate; NULL with one "file:line: message" line per problem. */
struct policy *policy_load(const char *path, struct buf *errors);
/* A snapshot with every default (no file). */
struct policy *policy_defaults(void);

void policy_install(struct policy *policy);
struct policy *policy_acquire(void);
void policy_release(struct policy *policy);
/* Drop the installed snapshot at shutdown. */
void policy_uninstall(void);

/* Lookups. */
/* The bounce domain for mail from this From domain, or NULL. */
const char *policy_bounce_domain(const struct policy *policy, const char *from_domain);
/*
 * The signing-table entries for a From domain (exact entries, then
 * "*.parent" entries), at most max; how many in *count.  stream NULL or ""
 * matches entries for every stream.
 */
size_t policy_signing_keys(const struct policy *policy, const char *from_domain, const char *stream,
                           const struct policy_domain **out, size_t max);
int policy_syslog_facility(const struct policy *policy);
const char *policy_action_name(enum policy_action action);
/* The store settings, for store_open_with() (the strings stay the policy's). */
void policy_store_options(const struct policy *policy, struct store_options *out);

#endif
