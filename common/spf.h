/*
 * spf - Sender Policy Framework checks (RFC 7208)
 *
 * spf_check_mail_from() authorizes the client for the MAIL FROM identity
 * (a null reverse-path checks postmaster@HELO, RFC 7208 2.4) and
 * spf_check_helo() for the HELO identity.  Both run check_host() against
 * the records published in DNS, asking only the resolver of dns.h, and
 * answer one of the seven results of RFC 7208 2.6.  The answers are meant
 * to be those of pyspf (Debian python3-spf), the reference the issue chose:
 * the same processing limits (10 DNS-querying terms, 2 void lookups, 10 MX
 * and 10 PTR names), the same syntax checks, a DNS timeout or SERVFAIL
 * reads as temperror, never as "no record".  Where pyspf contradicts the
 * RFC's text, the RFC wins; each such place is marked "RFC, not pyspf" in
 * spf.c, spf_record.c or spf_macro.c.
 *
 * An IPv4-mapped IPv6 client (::ffff:192.0.2.1) is checked as the IPv4
 * client it is.  An outcome owns its strings: release it with
 * spf_outcome_free() (also safe on a zeroed outcome).
 */
#ifndef MW_SPF_H
#define MW_SPF_H

#include <stdint.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "common/dns.h"

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

enum spf_identity {
	SPF_ID_MAILFROM,
	SPF_ID_HELO,
};

struct spf_request {
	const struct sockaddr *client; /* AF_INET or AF_INET6 */
	const char *mail_from;         /* reverse-path without <>; "" or NULL: null sender */
	const char *helo;              /* HELO/EHLO argument; may be NULL */
	const char *receiver;          /* %{r}; NULL: "unknown" */
	int64_t now;                   /* %{t}, seconds since the epoch; 0: the clock */
};

struct spf_outcome {
	enum spf_result result;
	enum spf_identity identity;
	char *sender;      /* the <sender> checked, e.g. "postmaster@helo.example" */
	char *domain;      /* the identity's domain (<domain> of check_host) */
	char *mechanism;   /* the term that decided, as published; NULL: default */
	char *explanation; /* fail with an exp= explanation only; else NULL */
	char *problem;     /* temperror/permerror: what went wrong; else NULL */
};

enum spf_result spf_check_mail_from(struct dns_resolver *resolver, struct dns_budget *budget,
                                    const struct spf_request *req, struct spf_outcome *out);
enum spf_result spf_check_helo(struct dns_resolver *resolver, struct dns_budget *budget,
                               const struct spf_request *req, struct spf_outcome *out);
void spf_outcome_free(struct spf_outcome *out);

/* "pass", "fail", "softfail", "neutral", "none", "temperror", "permerror" */
const char *spf_result_name(enum spf_result result);

/*
 * Append the value of a Received-SPF header field (RFC 7208 9.1) for an
 * outcome: the result, a comment, then client-ip, envelope-from, helo,
 * receiver, mechanism or problem, and identity.  Text from the message is
 * quoted or escaped so the field stays one well-formed line.
 */
void spf_received_spf(struct buf *out, const struct spf_request *req,
                      const struct spf_outcome *outcome);

#endif
