/*
 * unsubscribe - List-Unsubscribe on bulk mail (RFC 2369, RFC 8058)
 *
 * Since 2024 Gmail and Yahoo want one-click unsubscribe on bulk mail.  A
 * message is bulk when its sending stream says so (streams: bulk = true)
 * or, with unsubscribe.precedence_bulk, when it carries Precedence: bulk or
 * list.  Such a message gets, before it is signed (so both fields are
 * covered, and oversigned):
 *
 *	List-Unsubscribe: <URL/TOKEN>, <mailto:ADDRESS?subject=unsubscribe%20TOKEN>
 *	List-Unsubscribe-Post: List-Unsubscribe=One-Click
 *
 * TOKEN (common/unsub_token.h) names the recipient, the stream and the
 * "topic" message tag.  A token names one recipient, so only a message
 * with exactly one recipient gets them; a bulk message with several is
 * left as it is and logged (send bulk mail one recipient per message).  A
 * List-Unsubscribe the application set is kept, or replaced when
 * unsubscribe.existing = "replace".
 */
#ifndef MW_UNSUBSCRIBE_H
#define MW_UNSUBSCRIBE_H

struct msg;

/*
 * Queue the fields (and note them in msg for signing); what was done, for
 * the log: "added", "kept", "none(why)", or NULL for mail that is not bulk.
 */
const char *unsubscribe_add_headers(struct msg *msg);

#endif
