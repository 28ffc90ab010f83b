/*
 * schema - every setting of the policy file, in one table
 *
 * The order here is the order of the sample file.  Choice lists are in the
 * order of the enums they land in (policy.h, log.h, spool.h).  Settings
 * that later capabilities read are here already so a policy file written
 * today keeps loading.
 */
#include "config.h"

#include <stddef.h>

#include "policy/checks.h"
#include "policy/policy.h"
#include "policy/settings.h"
#include "policy/signing.h"
#include "policy/streams.h"

#define P(field) offsetof(struct policy, field)
#define D(field) offsetof(struct policy_domain, field)
#define S(field) offsetof(struct policy_stream, field)

static const char *const action_choices[] = { "accept", "tempfail", "reject", NULL };
static const char *const log_to_choices[] = { "syslog", "stderr", NULL };
static const char *const log_level_choices[] = {
	"error", "warning", "notice", "info", "debug", NULL
};
const char *const policy_facility_choices[] = { "mail",   "daemon", "local0", "local1",
	                                        "local2", "local3", "local4", "local5",
	                                        "local6", "local7", NULL };
static const char *const canon_choices[] = { "simple", "relaxed", NULL };
static const char *const durability_choices[] = { "fsync", "none", NULL };
static const char *const suppression_scope_choices[] = { "account", "stream", NULL };
static const char *const backend_choices[] = { "sqlite", "redis", NULL }; /* enum store_backend */
static const char *const shape_choices[] = { "event", "notification", NULL };
const char *const policy_algorithm_choices[] = { "rsa-sha256", "ed25519-sha256", NULL };

static const char *const default_trusted[] = { "127.0.0.0/8", "::1/128", NULL };
static const char *const default_daemon_names[] = { "ORIGINATING", NULL };

static const struct setting daemon_settings[] = {
	{ "socket", SETTING_STRING, P(socket),
	  "Where the MTA connects: unix:/path, inet:PORT@HOST or inet6:PORT@HOST.\n"
	  "The command line option -p overrides it. Takes effect at restart.",
	  .def_string = "unix:/run/mailward/mailward.sock", .check = check_milter_socket },
	{ "user", SETTING_STRING, P(user),
	  "Unprivileged user to run as after the socket is open (when started as root).\n"
	  "Empty: stay as started. Takes effect at restart.",
	  .def_string = "mailward" },
	{ "socket_group", SETTING_STRING, P(socket_group),
	  "Group owning a unix socket, so the MTA can connect (Postfix: \"postfix\").\n"
	  "Empty: the group of user.",
	  .def_string = "" },
	{ "socket_mode", SETTING_STRING, P(socket_mode), "Permissions of a unix socket (octal).",
	  .def_string = "0660", .check = check_octal_mode },
	{ "pid_file", SETTING_STRING, P(pid_file), "Process ID file; empty for none.",
	  .def_string = "", .check = check_optional_absolute_path },
	{ "timeout", SETTING_INT, P(milter_timeout),
	  "Seconds to wait for the MTA before giving up on a connection.", .def_int = 300, .min = 1,
	  .max = 86400 },
	{ "listen_backlog", SETTING_INT, P(listen_backlog),
	  "Pending connections the socket queues.", .def_int = 128, .min = 1, .max = 65535 },
	{ NULL },
};

static const struct setting log_settings[] = {
	{ "to", SETTING_CHOICE, P(log_to), "Where log lines go.", .def_string = "syslog",
	  .choices = log_to_choices },
	{ "level", SETTING_CHOICE, P(log_level), "Least important level logged.",
	  .def_string = "info", .choices = log_level_choices },
	{ "facility", SETTING_CHOICE, P(log_facility), "Syslog facility.", .def_string = "mail",
	  .choices = policy_facility_choices },
	{ NULL },
};

static const struct setting failure_settings[] = {
	{ "internal_error", SETTING_CHOICE, P(on_internal_error),
	  "An unexpected internal error while handling a message.", .def_string = "tempfail",
	  .choices = action_choices },
	{ "policy_unavailable", SETTING_CHOICE, P(on_policy_unavailable),
	  "The policy has no usable answer for a message (for example, it names a\n"
	  "sending stream the policy does not define, or its key failed to load).",
	  .def_string = "tempfail", .choices = action_choices },
	{ "spool_unwritable", SETTING_CHOICE, P(on_spool_unwritable),
	  "An event cannot be made durable in the spool (disk full, read-only, I/O error).\n"
	  "tempfail keeps every event: the MTA retries the message later.",
	  .def_string = "tempfail", .choices = action_choices },
	{ "dns_temperror", SETTING_CHOICE, P(on_dns_temperror),
	  "A DNS lookup timed out or failed temporarily.", .def_string = "tempfail",
	  .choices = action_choices },
	{ "store_unavailable", SETTING_CHOICE, P(on_store_unavailable),
	  "The shared store cannot answer a lookup a message needs (the suppression\n"
	  "list at RCPT; Redis down or slower than store.redis_timeout_ms).",
	  .def_string = "tempfail", .choices = action_choices },
	{ NULL },
};

static const struct setting outbound_settings[] = {
	{ "refuse_suppressed", SETTING_BOOL, P(refuse_suppressed),
	  "Refuse recipients on the account's suppression list at RCPT (550 5.1.1),\n"
	  "with a Bounce event (OnAccountSuppressionList), as SES does.",
	  .def_bool = true },
	{ "authenticated", SETTING_BOOL, P(outbound_authenticated),
	  "Mail from clients that authenticated with SMTP AUTH ({auth_authen}) is outbound.",
	  .def_bool = true },
	{ "daemon_names", SETTING_STRING_LIST, P(outbound_daemon_names),
	  "MTA services whose mail is outbound ({daemon_name}; Postfix:\n"
	  "-o milter_macro_daemon_name=ORIGINATING on the submission service).",
	  .def_list = default_daemon_names, .check = check_token },
	{ NULL },
};

static const struct setting domain_settings[] = {
	{ "domain", SETTING_STRING, D(domain),
	  "From domain to sign for; \"*.example.com\" covers its subdomains and\n"
	  "signs them as example.com (relaxed DMARC alignment).",
	  .required = true, .example = "example.com", .check = check_domain_pattern },
	{ "selector", SETTING_STRING, D(selector), "DKIM selector.", .required = true,
	  .example = "mw1", .check = check_token },
	{ "key", SETTING_STRING, D(key_file),
	  "Private key file (PEM), readable by mailward only (mode 600 or 640);\n"
	  "\"mailward keygen\" makes one.  Loaded with the policy, never per message.",
	  .required = true, .example = "/etc/mailward/keys/example.com.mw1.pem",
	  .check = check_absolute_path },
	{ "algorithm", SETTING_CHOICE, D(algorithm), "Signature algorithm.",
	  .def_string = "rsa-sha256", .choices = policy_algorithm_choices },
	{ "stream", SETTING_STRING, D(stream), "Only for this sending stream; empty for all.",
	  .def_string = "" },
	{ NULL },
};

#define M(field) offsetof(struct policy_mail_from, field)
#define V(field) offsetof(struct policy_verp_key, field)

static const struct setting mail_from_settings[] = {
	{ "domain", SETTING_STRING, M(domain), "From domain (or \"*.example.com\").",
	  .required = true, .example = "example.com", .check = check_domain_pattern },
	{ "bounce_domain", SETTING_STRING, M(bounce_domain),
	  "Envelope sender domain: a subdomain of the From domain whose MX leads\n"
	  "back to this MTA and whose SPF record allows it.",
	  .required = true, .example = "bounce.example.com", .check = check_domain },
	{ NULL },
};

static const struct setting verp_key_settings[] = {
	{ "id", SETTING_INT, V(id), "Key id, written into every token (0 to 255).",
	  .required = true, .def_int = 1, .min = 0, .max = 255 },
	{ "file", SETTING_STRING, V(file),
	  "Secret of 16 to 64 bytes, mode 600: head -c 32 /dev/urandom > FILE", .required = true,
	  .example = "/etc/mailward/verp-1.key", .check = check_absolute_path },
	{ NULL },
};

static const struct setting signing_settings[] = {
	{ "header_canonicalization", SETTING_CHOICE, P(header_canon),
	  "Header canonicalization: relaxed survives harmless rewrapping.", .def_string = "relaxed",
	  .choices = canon_choices },
	{ "body_canonicalization", SETTING_CHOICE, P(body_canon), "Body canonicalization.",
	  .def_string = "relaxed", .choices = canon_choices },
	{ "expire", SETTING_INT, P(signature_expire),
	  "Seconds a signature stays valid (x= tag); 0 for no expiry.", .def_int = 0, .min = 0,
	  .max = 31536000 },
	{ "add_message_id", SETTING_BOOL, P(add_message_id),
	  "Add a Message-ID and a Date to outbound mail that lacks them (before\n"
	  "signing, so the signatures cover them rather than the MTA's own).",
	  .def_bool = true },
	{ "unsigned", SETTING_CHOICE, P(on_unsigned),
	  "Outbound mail whose From domain has no key: accept it unsigned (logged),\n"
	  "tempfail or reject it.",
	  .def_string = "accept", .choices = action_choices },
	{ NULL },
};

#define Z(field) offsetof(struct policy_dns_zone, field)

static const struct setting dns_zone_settings[] = {
	{ "zone", SETTING_STRING, Z(zone), "Zone answered by these servers.", .required = true,
	  .example = "internal.example.com", .check = check_domain },
	{ "nameservers", SETTING_STRING_LIST, Z(nameservers), "Its servers (ADDR or ADDR@PORT).",
	  .check = check_nameserver },
	{ NULL },
};

static const struct setting dns_settings[] = {
	{ "nameservers", SETTING_STRING_LIST, P(dns_nameservers),
	  "Resolvers to forward queries to (ADDR or ADDR@PORT).  Empty: those of\n"
	  "/etc/resolv.conf.  Answers are cached in mailward either way.",
	  .check = check_nameserver },
	{ "forward_zones", SETTING_GROUP_LIST, P(dns_zones),
	  "Zones answered by servers of their own.", .children = dns_zone_settings,
	  .elem_size = sizeof(struct policy_dns_zone), .count_offset = P(dns_zone_count) },
	{ "query_timeout_ms", SETTING_INT, P(dns_query_timeout_ms),
	  "One lookup, at most (milliseconds); then it is a temporary failure.", .def_int = 3000,
	  .min = 10, .max = 60000 },
	{ "message_budget_ms", SETTING_INT, P(dns_message_budget_ms),
	  "All lookups for one message (SPF, DKIM keys, DMARC), at most.", .def_int = 8000,
	  .min = 10, .max = 300000 },
	{ "dnssec", SETTING_BOOL, P(dns_dnssec),
	  "Validate answers with DNSSEC; a bogus answer is a temporary failure.",
	  .def_bool = false },
	{ "trust_anchor", SETTING_STRING, P(dns_trust_anchor),
	  "Root trust anchor for dnssec (Debian: dns-root-data).",
	  .def_string = "/usr/share/dns/root.key", .check = check_absolute_path },
	{ NULL },
};

static const char *const inbound_mode_choices[] = { "enforce", "monitor", "off", NULL };
static const char *const length_tag_choices[] = { "accept", "ignore", NULL };
static const char *const quarantine_choices[] = { "hold", "header", NULL };

static const struct setting inbound_settings[] = {
	{ "authserv_id", SETTING_STRING, P(authserv_id),
	  "authserv-id of Authentication-Results headers; empty: the host name.\n"
	  "Headers that arrive claiming it are removed (forgeries).",
	  .def_string = "" },
	{ "mode", SETTING_CHOICE, P(inbound_mode),
	  "enforce: SPF, DKIM and DMARC, honouring published DMARC policies (reject,\n"
	  "quarantine).  monitor: the same checks and headers, never a refusal.\n"
	  "off: no inbound checks.",
	  .def_string = "enforce", .choices = inbound_mode_choices },
	{ "received_spf", SETTING_BOOL, P(received_spf),
	  "Also add a Received-SPF header (RFC 7208 section 9.1).", .def_bool = false },
	{ "dkim_max_signatures", SETTING_INT, P(dkim_max_signatures),
	  "DKIM signatures verified per message, at most; more are not looked at.", .def_int = 5,
	  .min = 1, .max = 50 },
	{ "dkim_min_rsa_bits", SETTING_INT, P(dkim_min_rsa_bits),
	  "RSA keys shorter than this fail verification (RFC 8301: 1024).", .def_int = 1024,
	  .min = 512, .max = 4096 },
	{ "dkim_length_tag", SETTING_CHOICE, P(dkim_length_tag),
	  "Signatures with l= (a signed body prefix): accept, or ignore them.",
	  .def_string = "accept", .choices = length_tag_choices },
	{ "quarantine", SETTING_CHOICE, P(quarantine_as),
	  "DMARC p=quarantine: hold (the MTA's hold queue) or header (deliver with\n"
	  "quarantine_header added, for the mail store's junk rules).",
	  .def_string = "hold", .choices = quarantine_choices },
	{ "quarantine_header", SETTING_STRING, P(quarantine_header),
	  "Header added when quarantine is \"header\".", .def_string = "X-Mailward-Quarantine" },
	{ "monitor_domains", SETTING_STRING_LIST, P(monitor_domains),
	  "From domains (or \"*.example.com\") whose DMARC policy is evaluated but\n"
	  "never enforced.",
	  .check = check_domain_pattern },
	{ "forwarders", SETTING_STRING_LIST, P(forwarders),
	  "Clients (CIDR) that forward mail to us, e.g. mailing lists: evaluated,\n"
	  "never refused or quarantined for DMARC.",
	  .check = check_cidr },
	{ "dmarc_history", SETTING_BOOL, P(dmarc_history),
	  "Record each DMARC evaluation in the store for aggregate reports\n"
	  "(mailward report).",
	  .def_bool = true },
	{ "report_org_name", SETTING_STRING, P(report_org_name),
	  "Organisation named in aggregate reports; empty: the authserv-id.", .def_string = "" },
	{ "report_email", SETTING_STRING, P(report_email), "Contact address in aggregate reports.",
	  .def_string = "" },
	{ NULL },
};

/*
 * Reputation limits: the same rows, with the same words, in each stream
 * and in the reputation group (From domains).  Rates are percentages, as
 * Gmail's and Yahoo's guidance states them.
 */
static const char doc_warn_complaint[] =
    "Announce a ReputationWarning event when the complaint rate (complaints /\n"
    "recipients sent to, in the window) passes this; \"0\": never.";
static const char doc_warn_bounce[] = "The same for the permanent bounce rate.";
static const char doc_pause_complaint[] =
    "Pause when the complaint rate passes this: new mail is tempfailed (451\n"
    "4.7.1) and waits in the MTA's queue until resumed; \"0\": never.";
static const char doc_pause_bounce[] = "The same for the permanent bounce rate.";
static const char doc_min_sends[] = "Recipients sent to in the window before rates are judged.";
static const char doc_window[] =
    "Sliding window of the rates, whole hours or days (\"24h\", \"7d\"):\n"
    "the current hour and the ones before it.";
static const char doc_auto_resume[] =
    "Resume a pause by itself after this long (\"6h\", \"30m\", \"90s\");\n"
    "\"0\": only \"mailward stream resume\" does.";

#define R(field) offsetof(struct policy, domain_reputation.field)

static const struct setting reputation_settings[] = {
	{ "warn_complaint_rate", SETTING_STRING, R(warn_complaint_rate), doc_warn_complaint,
	  .def_string = "0.1%", .check = check_rate },
	{ "warn_bounce_rate", SETTING_STRING, R(warn_bounce_rate), doc_warn_bounce,
	  .def_string = "2%", .check = check_rate },
	{ "pause_complaint_rate", SETTING_STRING, R(pause_complaint_rate), doc_pause_complaint,
	  .def_string = "0.3%", .check = check_rate },
	{ "pause_bounce_rate", SETTING_STRING, R(pause_bounce_rate), doc_pause_bounce,
	  .def_string = "5%", .check = check_rate },
	{ "min_sends", SETTING_INT, R(min_sends), doc_min_sends, .def_int = 500, .min = 1,
	  .max = 1000000000 },
	{ "window", SETTING_STRING, R(window), doc_window, .def_string = "24h",
	  .check = check_window },
	{ "auto_resume", SETTING_STRING, R(auto_resume), doc_auto_resume, .def_string = "0",
	  .check = check_duration },
	{ NULL },
};

static const char *const stream_existing_choices[] = { "keep", "replace", "default", NULL };

static const struct setting stream_settings[] = {
	{ "name", SETTING_STRING, S(name), "Stream (configuration set) name.", .required = true,
	  .example = "newsletters", .check = check_token },
	{ "bulk", SETTING_BOOL, S(bulk), "Bulk mail: gets List-Unsubscribe headers.",
	  .def_bool = false },
	{ "unsubscribe_url", SETTING_STRING, S(unsubscribe_url),
	  "This stream's base of one-click links (e.g. another host of your reverse\n"
	  "proxy); empty: unsubscribe.url.",
	  .def_string = "", .check = check_optional_url },
	{ "unsubscribe_existing", SETTING_CHOICE, S(unsubscribe_existing),
	  "An application's own List-Unsubscribe in this stream: keep, replace, or\n"
	  "default (as unsubscribe.existing says).",
	  .def_string = "default", .choices = stream_existing_choices },
	/* Reputation limits (milter/reputation.h), as in the reputation group. */
	{ "warn_complaint_rate", SETTING_STRING, S(reputation.warn_complaint_rate),
	  doc_warn_complaint, .def_string = "0.1%", .check = check_rate },
	{ "warn_bounce_rate", SETTING_STRING, S(reputation.warn_bounce_rate), doc_warn_bounce,
	  .def_string = "2%", .check = check_rate },
	{ "pause_complaint_rate", SETTING_STRING, S(reputation.pause_complaint_rate),
	  doc_pause_complaint, .def_string = "0.3%", .check = check_rate },
	{ "pause_bounce_rate", SETTING_STRING, S(reputation.pause_bounce_rate), doc_pause_bounce,
	  .def_string = "5%", .check = check_rate },
	{ "min_sends", SETTING_INT, S(reputation.min_sends), doc_min_sends, .def_int = 500,
	  .min = 1, .max = 1000000000 },
	{ "window", SETTING_STRING, S(reputation.window), doc_window, .def_string = "24h",
	  .check = check_window },
	{ "auto_resume", SETTING_STRING, S(reputation.auto_resume), doc_auto_resume,
	  .def_string = "0", .check = check_duration },
	/* selection, tags, suppression scope, sending limits (policy/streams.h) */
	{ "auth_users", SETTING_STRING_LIST, S(auth_users),
	  "SMTP AUTH users ({auth_authen}, exact names) whose mail is in this stream\n"
	  "when no control header names one.",
	  .check = check_token },
	{ "senders", SETTING_STRING_LIST, S(senders),
	  "Envelope senders (MAIL FROM as the application gave it) whose mail is in\n"
	  "this stream when neither a control header nor auth_users chose one:\n"
	  "\"news@example.com\", \"*@promo.example.com\", \"*.example.org\" (its\n"
	  "subdomains), \"*\".  The most specific pattern of all streams wins.",
	  .check = check_address_pattern },
	{ "default_for", SETTING_STRING_LIST, S(default_for),
	  "From header domains (\"example.com\", \"*.example.com\") whose mail is in this\n"
	  "stream when nothing above chose one.",
	  .check = check_domain_pattern },
	{ "tags", SETTING_STRING_LIST, S(tags),
	  "Tags (\"name=value\") added to the tags of every event of the stream.",
	  .check = check_event_tag },
	{ "suppression", SETTING_CHOICE, S(suppression),
	  "Which suppression lists refuse recipients: account (the account's list and\n"
	  "the stream's own) or stream (only the stream's own list: its unsubscribes).",
	  .def_string = "account", .choices = suppression_scope_choices },
	{ "max_per_day", SETTING_INT, S(max_per_day),
	  "Messages in any 24 hours, at most (counted per mailward process); beyond\n"
	  "it: 451 4.7.1, the MTA retries later.  0: no limit.",
	  .def_int = 0, .min = 0, .max = 100000000 },
	{ "max_rate", SETTING_INT, S(max_rate),
	  "Messages per second, at most (bursts of as many); beyond it: 451 4.7.1.\n"
	  "0: no limit.",
	  .def_int = 0, .min = 0, .max = 1000000 },
	{ "max_recipients", SETTING_INT, S(max_recipients),
	  "Recipients per message, at most; the ones beyond it get 452 4.5.3 at RCPT\n"
	  "(the client sends them in another message).  0: no limit.",
	  .def_int = 0, .min = 0, .max = 100000 },
	{ "delivery_notifications", SETTING_BOOL, S(delivery_notifications),
	  "Ask for success DSNs (each recipient re-added with NOTIFY=SUCCESS,FAILURE,DELAY)\n"
	  "so that \"delivered\"/\"relayed\" reports come back as Delivery events.\n"
	  "Costs one DSN per recipient; see the README.",
	  .def_bool = false },
	{ NULL },
};

#define I(field)  offsetof(struct policy_identity, field)
#define UL(field) offsetof(struct policy_user_limits, field)

static const struct setting identity_settings[] = {
	{ "users", SETTING_STRING_LIST, I(users),
	  "SMTP AUTH users ({auth_authen}, exact names; \"*\": any authenticated one).",
	  .check = check_token },
	{ "networks", SETTING_STRING_LIST, I(networks),
	  "Client networks (CIDR), e.g. applications relaying without SMTP AUTH.",
	  .check = check_cidr },
	{ "from", SETTING_STRING_LIST, I(from),
	  "From addresses they may use: \"news@example.com\", \"*@example.com\",\n"
	  "\"example.com\", \"*.example.com\" (its subdomains), \"*\".",
	  .check = check_address_pattern },
	{ NULL },
};

static const struct setting user_limits_settings[] = {
	{ "users", SETTING_STRING_LIST, UL(users),
	  "SMTP AUTH users these limits apply to, each counted on its own; \"*\": every\n"
	  "authenticated user no other entry names.",
	  .check = check_token },
	{ "max_per_day", SETTING_INT, UL(max_per_day),
	  "Messages in any 24 hours, at most (per process); beyond it: 451 4.7.1.\n"
	  "0: no limit.",
	  .def_int = 0, .min = 0, .max = 100000000 },
	{ "max_rate", SETTING_INT, UL(max_rate),
	  "Messages per second, at most; beyond it: 451 4.7.1.  0: no limit.", .def_int = 0,
	  .min = 0, .max = 1000000 },
	{ "max_recipients", SETTING_INT, UL(max_recipients),
	  "Recipients per message, at most (452 4.5.3 beyond it).  0: no limit.", .def_int = 0,
	  .min = 0, .max = 100000 },
	{ NULL },
};

static const char *const existing_choices[] = { "keep", "replace", NULL };
static const char *const feedback_action_choices[] = { "discard", "deliver", "header", NULL };

static const struct setting unsubscribe_settings[] = {
	{ "url", SETTING_STRING, P(unsubscribe_url),
	  "Base of the one-click unsubscribe links, as recipients reach mailward's\n"
	  "endpoint through your reverse proxy; the token is appended.  https:// is\n"
	  "needed for one-click (List-Unsubscribe-Post, RFC 8058).  Empty: no link.",
	  .def_string = "", .example = "https://mail.example.com/u/", .check = check_optional_url },
	{ "mailto", SETTING_STRING, P(unsubscribe_mailto),
	  "Address for unsubscribe mails (the token goes in the subject).  Empty: none.",
	  .def_string = "", .check = check_optional_address },
	{ "existing", SETTING_CHOICE, P(unsubscribe_existing),
	  "A List-Unsubscribe the application set: keep it, or replace it with ours.",
	  .def_string = "keep", .choices = existing_choices },
	{ "listen", SETTING_STRING, P(unsubscribe_listen),
	  "Where mailward's one-click endpoint listens (ADDRESS:PORT, [IPv6]:PORT),\n"
	  "behind the reverse proxy that serves url; it runs when url is set.\n"
	  "Empty: no endpoint (another service handles the links).  Takes effect at\n"
	  "restart.",
	  .def_string = "127.0.0.1:8025" },
	{ "token_days", SETTING_INT, P(unsubscribe_token_days),
	  "Days an unsubscribe link keeps working.", .def_int = 180, .min = 1, .max = 3650 },
	{ "timeout", SETTING_INT, P(unsubscribe_timeout),
	  "Seconds the HTTP endpoint (unsubscribe and metrics) gives a client to send\n"
	  "a whole request, headers and body, and the longest a kept-alive connection\n"
	  "may sit idle; a client that trickles its request (slowloris) is cut off\n"
	  "then.  Takes effect at restart.",
	  .def_int = 10, .min = 1, .max = 600 },
	{ "max_connections", SETTING_INT, P(unsubscribe_max_connections),
	  "Connections the HTTP endpoint holds open at once; more are refused at\n"
	  "accept.  Takes effect at restart.",
	  .def_int = 64, .min = 1, .max = 10000 },
	{ "max_connections_per_ip", SETTING_INT, P(unsubscribe_max_per_ip),
	  "Connections one client address may hold open at once; 0: no limit of its\n"
	  "own.  Behind a reverse proxy every request comes from the proxy's address,\n"
	  "so the default leaves the limit to the proxy; set it when the endpoint\n"
	  "faces clients directly.  Takes effect at restart.",
	  .def_int = 0, .min = 0, .max = 10000 },
	{ "precedence_bulk", SETTING_BOOL, P(unsubscribe_precedence_bulk),
	  "Treat mail with Precedence: bulk or list as bulk even outside a bulk stream.",
	  .def_bool = false },
	{ NULL },
};

static const struct setting feedback_settings[] = {
	{ "bounce_domains", SETTING_STRING_LIST, P(bounce_domains),
	  "Domains of VERP bounce addresses (custom MAIL FROM domains).", .check = check_domain },
	{ "complaint_addresses", SETTING_STRING_LIST, P(complaint_addresses),
	  "Addresses that receive feedback-loop (ARF) complaint reports.", .check = check_address },
	{ "bounce_action", SETTING_CHOICE, P(feedback_bounce_action),
	  "A bounce to a bounce domain, once its events are in the spool: discard it,\n"
	  "deliver it, or deliver it with an X-Mailward-Feedback summary header.\n"
	  "A message that cannot be read as feedback is always delivered.",
	  .def_string = "discard", .choices = feedback_action_choices },
	{ "complaint_action", SETTING_CHOICE, P(feedback_complaint_action),
	  "The same for a complaint (ARF report) to a complaint address.", .def_string = "header",
	  .choices = feedback_action_choices },
	{ "max_bytes", SETTING_INT, P(feedback_max_bytes),
	  "Feedback messages are read up to this size (the rest is ignored).", .def_int = 1048576,
	  .min = 65536, .max = 67108864 },
	{ "read_reports", SETTING_BOOL, P(feedback_read_reports),
	  "Also read delivery reports (DSN) and complaints (ARF) sent to any other\n"
	  "address, e.g. bounces that return to a sender's own mailbox when no custom\n"
	  "MAIL FROM is used: their events are written (correlated by Message-ID) and\n"
	  "the message goes on as usual, never discarded.",
	  .def_bool = true },
	{ "suppress", SETTING_BOOL, P(feedback_suppress),
	  "Put addresses that bounced permanently or complained on the account's\n"
	  "suppression list.",
	  .def_bool = true },
	{ "correlation_days", SETTING_INT, P(correlation_days),
	  "Days the Message-ID of each sent message is kept (in the store), so\n"
	  "feedback without a bounce-address token (most complaints, DSNs from\n"
	  "servers that rewrite the envelope) still finds its message.  0: none kept.",
	  .def_int = 7, .min = 0, .max = 365 },
	{ "verp_keys", SETTING_GROUP_LIST, P(verp_keys),
	  "Secrets of bounce-address tokens.  The first makes new tokens; all are\n"
	  "accepted, so a key can be rotated by adding a new one first.",
	  .children = verp_key_settings, .elem_size = sizeof(struct policy_verp_key),
	  .count_offset = P(verp_key_count), .finish = verp_key_finish },
	{ NULL },
};

static const struct setting events_settings[] = {
	{ "spool_dir", SETTING_STRING, P(spool_dir),
	  "Event spool: DIR/new holds one JSON event per file (maildir-like).\n"
	  "Takes effect at restart.",
	  .def_string = "/var/spool/mailward/events", .check = check_absolute_path },
	{ "durability", SETTING_CHOICE, P(durability),
	  "fsync: an event is on disk before its message is accepted (a write-ahead\n"
	  "journal in spool_dir/journal; messages finishing together share one\n"
	  "flush).  none: faster, but events of the last seconds are lost if the\n"
	  "machine loses power.",
	  .def_string = "fsync", .choices = durability_choices },
	{ "checkpoint_seconds", SETTING_INT, P(checkpoint_seconds),
	  "fsync: seconds between checkpoints, which flush the event files of the\n"
	  "journal to disk and drop the journal (sooner when it passes 64 MB).\n"
	  "Longer: less disk work; the journal replayed after a crash is longer.\n"
	  "Takes effect at restart.",
	  .def_int = 30, .min = 1, .max = 3600 },
	{ "shape", SETTING_CHOICE, P(event_shape),
	  "event: SES event publishing (eventType); notification: SES notifications\n"
	  "(notificationType).",
	  .def_string = "event", .choices = shape_choices },
	{ "max_header_bytes", SETTING_INT, P(max_header_bytes),
	  "Headers copied into an event, at most (SES: 10 KB); beyond it\n"
	  "headersTruncated is true.  An event never reaches 256 KB whatever this says.",
	  .def_int = 10240, .min = 0, .max = 1048576 },
	{ NULL },
};

#define W(field) offsetof(struct policy_webhook, field)

static const struct setting webhook_settings[] = {
	{ "name", SETTING_STRING, W(name),
	  "Endpoint name: its dead-letter folder is events.spool_dir/dead/NAME\n"
	  "(mailward events redrive NAME).",
	  .required = true, .example = "crm", .check = check_token },
	{ "url", SETTING_STRING, W(url),
	  "Where events are POSTed as SNS HTTP notifications.  https://, or http://\n"
	  "to loopback (127.0.0.0/8, [::1], localhost) unless allow_http is true.",
	  .required = true, .example = "https://hooks.example.com/ses",
	  .check = check_webhook_url },
	{ "allow_http", SETTING_BOOL, W(allow_http),
	  "Allow plain http:// to a host that is not loopback (events travel unencrypted).",
	  .def_bool = false },
	{ "topic_arn", SETTING_STRING, W(topic_arn), "TopicArn of the notifications.",
	  .required = true, .example = "arn:aws:sns:local:000000000000:mailward-events",
	  .check = check_token },
	{ "shape", SETTING_CHOICE, W(shape),
	  "event: SES event publishing (eventType); notification: SES notifications\n"
	  "(notificationType).  Each endpoint gets the shape it asks for.",
	  .def_string = "event", .choices = shape_choices },
	{ "signing_key", SETTING_STRING, W(signing_key),
	  "RSA private key (PEM) signing the notifications (SignatureVersion 2,\n"
	  "RSA-SHA256), readable by mailward only (mode 600 or 640).",
	  .required = true, .example = "/etc/mailward/keys/sns.pem", .check = check_absolute_path },
	{ "signing_cert_url", SETTING_STRING, W(signing_cert_url),
	  "SigningCertURL: where receivers fetch the certificate of signing_key.", .required = true,
	  .example = "https://hooks.example.com/mailward-sns.pem", .check = check_webhook_url },
	{ "unsubscribe_url", SETTING_STRING, W(unsubscribe_url),
	  "UnsubscribeURL of the notifications; empty: the field is left out.", .def_string = "" },
	{ "max_attempts", SETTING_INT, W(max_attempts),
	  "Attempts per event, at most; then it goes to the dead-letter folder.", .def_int = 50,
	  .min = 1, .max = 100000 },
	{ "max_hours", SETTING_INT, W(max_hours),
	  "Hours an event is retried, at most (from its creation, or its redrive).", .def_int = 72,
	  .min = 1, .max = 8760 },
	{ "retry_min_ms", SETTING_INT, W(retry_min_ms),
	  "First retry delay; each further one doubles, up to retry_max_ms, with\n"
	  "random jitter (between half and all of it).",
	  .def_int = 20000, .min = 10, .max = 86400000 },
	{ "retry_max_ms", SETTING_INT, W(retry_max_ms), "Longest retry delay.", .def_int = 3600000,
	  .min = 10, .max = 86400000 },
	{ "tls_verify", SETTING_BOOL, W(tls_verify),
	  "Verify the endpoint's TLS certificate and host name.", .def_bool = true },
	{ "timeout", SETTING_INT, W(timeout), "Seconds one POST may take.", .def_int = 15, .min = 1,
	  .max = 600 },
	{ "confirm_subscription", SETTING_BOOL, W(confirm_subscription),
	  "Begin with SNS's SubscriptionConfirmation handshake: no event is sent\n"
	  "until the endpoint answers it with a 2xx status (recorded in\n"
	  "events.spool_dir/webhook/NAME/confirmed; a new topic_arn asks again).",
	  .def_bool = false },
	{ NULL },
};

static const struct setting store_settings[] = {
	{ "backend", SETTING_CHOICE, P(store_backend),
	  "Where the shared state lives (suppression list, reputation counters and\n"
	  "pauses, the Message-ID index of sent mail): \"sqlite\", the file at path,\n"
	  "for one host; \"redis\", the Redis at store.redis, for a fleet of MTA hosts\n"
	  "sharing it.  DMARC history stays in the SQLite file either way (it is this\n"
	  "host's own report data).  Takes effect at restart.",
	  .def_string = "sqlite", .choices = backend_choices },
	{ "path", SETTING_STRING, P(store_path),
	  "SQLite database: DMARC history, and with backend \"sqlite\" the shared\n"
	  "state too (suppression list, counters, Message-ID index).",
	  .def_string = "/var/lib/mailward/mailward.db", .check = check_absolute_path },
	{ "redis", SETTING_STRING, P(store_redis),
	  "The Redis of backend \"redis\": HOST:PORT, [IPv6]:PORT or unix:/path.",
	  .def_string = "127.0.0.1:6379", .check = check_redis_address },
	{ "redis_prefix", SETTING_STRING, P(store_redis_prefix),
	  "Prefix of every key mailward writes in Redis (fleets may share one Redis).",
	  .def_string = "mailward:", .check = check_token },
	{ "redis_timeout_ms", SETTING_INT, P(store_redis_timeout_ms),
	  "Longest wait for Redis (connect, each reply), in milliseconds; then the\n"
	  "lookup fails (failure.store_unavailable) and mailward reconnects with\n"
	  "back-off.",
	  .def_int = 500, .min = 10, .max = 60000 },
	{ NULL },
};

static const struct setting metrics_settings[] = {
	{ "enabled", SETTING_BOOL, P(metrics_enabled),
	  "Serve GET /metrics: counters in the Prometheus text format (mailward stats\n"
	  "shows them in a terminal).  Takes effect at restart.",
	  .def_bool = false },
	{ "listen", SETTING_STRING, P(metrics_listen),
	  "Where /metrics is served (ADDRESS:PORT, [IPv6]:PORT), loopback by default.\n"
	  "The same address as unsubscribe.listen: one server answers both (let the\n"
	  "reverse proxy in front of it forward /u/ alone).  Takes effect at restart.",
	  .def_string = "127.0.0.1:8025" },
	{ NULL },
};

const struct setting policy_schema[] = {
	{ "daemon", SETTING_GROUP, 0, "The daemon: socket, privileges, process.",
	  .children = daemon_settings },
	{ "log", SETTING_GROUP, 0, "Logging.", .children = log_settings },
	{ "failure", SETTING_GROUP, 0,
	  "What happens to a message when something fails (accept, tempfail, reject).\n"
	  "Every failure is logged with the queue ID.",
	  .children = failure_settings },
	{ "trusted_networks", SETTING_STRING_LIST, P(trusted_networks),
	  "Clients in these networks send outbound mail (signed, events recorded).",
	  .def_list = default_trusted, .check = check_cidr },
	{ "outbound", SETTING_GROUP, 0, "Other signs that a message is outbound.",
	  .children = outbound_settings },
	{ "domains", SETTING_GROUP_LIST, P(domains),
	  "Signing table: one entry per From domain and key.  Several entries for one\n"
	  "domain give several signatures (e.g. RSA and Ed25519 together).",
	  .children = domain_settings, .elem_size = sizeof(struct policy_domain),
	  .count_offset = P(domain_count), .finish = signing_entry_finish,
	  .release = signing_entry_release },
	{ "signing", SETTING_GROUP, 0, "How outbound mail is signed.",
	  .children = signing_settings },
	{ "mail_from", SETTING_GROUP_LIST, P(mail_from),
	  "Custom MAIL FROM: outbound mail from these domains gets the envelope sender\n"
	  "b-TOKEN@bounce_domain, so SPF aligns with the From domain and bounces come\n"
	  "back with a token naming the message.  Needs feedback.verp_keys.",
	  .children = mail_from_settings, .elem_size = sizeof(struct policy_mail_from),
	  .count_offset = P(mail_from_count) },
	{ "dns", SETTING_GROUP, 0, "The resolver of the inbound checks.",
	  .children = dns_settings },
	{ "inbound", SETTING_GROUP, 0, "Inbound authentication (SPF, DKIM, DMARC).",
	  .children = inbound_settings },
	{ "streams", SETTING_GROUP_LIST, P(streams),
	  "Sending streams (configuration sets).  A message's stream is the one its\n"
	  "control header (X-SES-CONFIGURATION-SET, X-Mailward-Stream) names, else\n"
	  "the one listing its SMTP AUTH user, else the one whose senders pattern\n"
	  "matches its envelope sender best, else the default_for its From domain;\n"
	  "else it has none.",
	  .children = stream_settings, .elem_size = sizeof(struct policy_stream),
	  .count_offset = P(stream_count) },
	{ "identities", SETTING_GROUP_LIST, P(identities),
	  "Who may send with which From addresses.  When any are listed, outbound mail\n"
	  "whose From address no entry for its SMTP AUTH user or client network\n"
	  "allows is refused at the end of the header (554 5.7.1, a Reject event).\n"
	  "None listed: any From is allowed.",
	  .children = identity_settings, .elem_size = sizeof(struct policy_identity),
	  .count_offset = P(identity_count), .finish = identity_finish,
	  .release = identity_release },
	{ "user_limits", SETTING_GROUP_LIST, P(user_limits),
	  "Sending limits of SMTP AUTH users (as streams have them); the first entry\n"
	  "naming a user applies.  Counters are in memory, per mailward process.",
	  .children = user_limits_settings, .elem_size = sizeof(struct policy_user_limits),
	  .count_offset = P(user_limit_count) },
	{ "reputation", SETTING_GROUP, 0,
	  "Reputation of each From domain: sends, permanent bounces and complaints\n"
	  "over a sliding window, judged like a stream's (the limits of each stream\n"
	  "are in its own entry).  See mailward stream list.",
	  .children = reputation_settings },
	{ "unsubscribe", SETTING_GROUP, 0,
	  "List-Unsubscribe and List-Unsubscribe-Post on bulk mail (streams with\n"
	  "bulk = true), one recipient per message; tokens are signed with the\n"
	  "first of feedback.verp_keys.",
	  .children = unsubscribe_settings },
	{ "feedback", SETTING_GROUP, 0, "Where bounces and complaints arrive.",
	  .children = feedback_settings },
	{ "events", SETTING_GROUP, 0, "The event spool.", .children = events_settings },
	{ "webhooks", SETTING_GROUP_LIST, P(webhooks),
	  "Endpoints that receive every event of the spool as an SNS HTTP notification\n"
	  "(mailward events dispatch; at least once: de-duplicate by MessageId).",
	  .children = webhook_settings, .elem_size = sizeof(struct policy_webhook),
	  .count_offset = P(webhook_count), .finish = webhook_finish, .release = webhook_release },
	{ "store", SETTING_GROUP, 0, "State: an embedded SQLite file, or Redis shared by a fleet.",
	  .children = store_settings },
	{ "metrics", SETTING_GROUP, 0, "Counters for monitoring (Prometheus).",
	  .children = metrics_settings },
	{ NULL },
};
