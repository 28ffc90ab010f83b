/*
 * authres - the Authentication-Results header field (RFC 8601)
 *
 * authres_format() writes the one header mailward adds to inbound mail:
 * its authserv-id, then spf, one dkim entry per signature verified
 * (header.d, header.i, header.s, header.a, header.b) and dmarc (published
 * policy and what was done in a comment, header.from), each entry on a
 * line of its own.  Property values that are not tokens are quoted;
 * comments are escaped, so nothing from the message can break the syntax.
 *
 * authres_claims() tells whether an existing field claims a given
 * authserv-id: such fields did not come from us (we have not added ours
 * yet) and are removed before ours is inserted (RFC 8601 section 5).
 */
#ifndef MW_AUTHRES_H
#define MW_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/dkim_verify.h"
#include "common/spf.h"
#include "policy/dmarc.h"

struct authres {
	const char *authserv_id;
	const struct spf_outcome *spf; /* NULL: SPF not checked */
	bool dkim_checked;
	const struct dkim_result *dkim; /* the signatures verified, top first */
	size_t n_dkim;
	const struct dmarc_result *dmarc; /* NULL: DMARC not evaluated */
	const char *dmarc_problem;        /* dmarc NULL: why not (permerror), or NULL */
	const char *dmarc_from;           /* header.from: the From domain as found */
	const char *disposition;          /* what mailward did: none, quarantine, reject */
	const char *override;             /* why it did less than asked, or NULL */
};

/* The field's value, with its leading space, folded with "\n\t". */
void authres_format(const struct authres *ar, struct buf *value);

/* Does the field value claim authserv_id (case-insensitive)? */
bool authres_claims(const char *value, const char *authserv_id);

#endif
