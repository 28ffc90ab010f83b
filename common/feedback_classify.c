/*
 * feedback_classify - a recipient's failure in SES terms
 *
 * The class comes from the enhanced status code, else from the SMTP
 * reply in the diagnostic (5xx permanent, 4xx transient), else from the
 * words alone; nothing at all is Undetermined.  The subtype comes from
 * the code's subject and detail and from the diagnostic's words, first
 * match wins in this order: MailboxFull, MessageTooLarge,
 * AttachmentRejected, ContentRejected (all Transient, as SES reports
 * them: the address exists and a later message may pass), then NoEmail
 * for a permanent failure that says the address does not exist, then
 * General.  Without any code, words that say the sending MTA gave up
 * retrying ("retry timeout exceeded") make it Transient.  A vague status (x.0.0, which Postfix
 * writes when the remote server gave no enhanced code) gives way to a more specific code of the
 * same class in the diagnostic.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/feedback_impl.h"

struct rule {
	const char *const *codes; /* subject.detail, e.g. "2.2" */
	const char *const *words;
	enum bounce_subtype subtype;
	enum bounce_type forced; /* BOUNCE_UNDETERMINED: keep the class */
};

static const char *const full_codes[] = { "2.2", NULL };
static const char *const full_words[] = { "mailbox full",
	                                  "mailbox is full",
	                                  "over quota",
	                                  "quota exceeded",
	                                  "exceeded storage",
	                                  "mailbox size limit",
	                                  "exceeds its quota",
	                                  "out of storage",
	                                  "full mailbox",
	                                  "insufficient storage in mailbox",
	                                  NULL };
static const char *const large_codes[] = { "3.4", "2.3", NULL };
static const char *const large_words[] = { "message too large",
	                                   "message is too large",
	                                   "message size exceeds",
	                                   "exceeds size limit",
	                                   "exceeds the maximum size",
	                                   "too big",
	                                   "size limit",
	                                   NULL };
static const char *const attachment_codes[] = { NULL };
static const char *const attachment_words[] = { "attachment", NULL };
static const char *const content_codes[] = { "6.0", NULL };
/* Phrases, not "spam" alone: "blocked using zen.spamhaus.org" is about the IP, not content. */
static const char *const content_words[] = { "spam detected",
	                                     "as spam",
	                                     "like spam",
	                                     "is spam",
	                                     "spam message",
	                                     "spam score",
	                                     "spam content",
	                                     "considered spam",
	                                     "message content",
	                                     "content rejected",
	                                     "content filter",
	                                     "rejected due to content",
	                                     "virus",
	                                     "malware",
	                                     "phish",
	                                     "unsolicited",
	                                     NULL };
static const char *const noemail_codes[] = { "1.1", "1.10", "1.2", "1.3", "1.6", NULL };
static const char *const noemail_words[] = { "user unknown",
	                                     "unknown user",
	                                     "no such user",
	                                     "does not exist",
	                                     "doesn't exist",
	                                     "recipient not found",
	                                     "address not found",
	                                     "invalid recipient",
	                                     "unknown recipient",
	                                     "no mailbox here",
	                                     "no such mailbox",
	                                     "couldn't be found",
	                                     "doesn't have a",
	                                     "mailbox not found",
	                                     "address unknown",
	                                     "unrouteable address",
	                                     "not a valid mailbox",
	                                     "no such domain",
	                                     "domain not found",
	                                     "host or domain name not found",
	                                     NULL };

/* Without any code: the sending MTA gave up on a failure that was only ever temporary. */
static const char *const gave_up_words[] = { "retry timeout exceeded", "timed out",
	                                     "connection refused",     "too many retries",
	                                     "message expired",        NULL };

static const struct rule rules[] = {
	{ full_codes, full_words, BOUNCE_SUB_MAILBOX_FULL, BOUNCE_TRANSIENT },
	{ large_codes, large_words, BOUNCE_SUB_MESSAGE_TOO_LARGE, BOUNCE_TRANSIENT },
	{ attachment_codes, attachment_words, BOUNCE_SUB_ATTACHMENT_REJECTED, BOUNCE_TRANSIENT },
	{ content_codes, content_words, BOUNCE_SUB_CONTENT_REJECTED, BOUNCE_TRANSIENT },
};

static bool
code_matches(const char *status, const char *const *codes)
{
	const char *rest = status != NULL ? strchr(status, '.') : NULL;

	if (rest == NULL)
		return false;
	for (size_t i = 0; codes[i] != NULL; i++)
		if (strcmp(rest + 1, codes[i]) == 0)
			return true;
	return false;
}

static bool
words_match(const char *text, const char *const *words)
{
	for (size_t i = 0; words[i] != NULL; i++)
		if (fb_contains_ci(text, words[i]))
			return true;
	return false;
}

/* The status that says most: status, or the diagnostic's if status is vague. */
static const char *
best_status(const char *status, const char *diagnostic, char code[16])
{
	if (status != NULL && strcmp(status + 1, ".0.0") != 0)
		return status;
	if (fb_find_status(diagnostic, code) && (status == NULL || code[0] == status[0]))
		return code;
	return status;
}

static int
class_of(const char *status, const char *diagnostic)
{
	if (status != NULL && (status[0] == '4' || status[0] == '5'))
		return status[0] - '0';
	return fb_find_reply_class(diagnostic);
}

void
feedback_classify(const char *status, const char *diagnostic, const char *action,
                  enum bounce_type *type, enum bounce_subtype *subtype)
{
	char code[16];
	const char *best = best_status(status, diagnostic, code);
	int klass = class_of(best, diagnostic);

	if (action != NULL && strcmp(action, "delayed") == 0 && klass == 0)
		klass = 4;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (code_matches(best, rules[i].codes) || words_match(diagnostic, rules[i].words)) {
			*type = rules[i].forced;
			*subtype = rules[i].subtype;
			return;
		}
	}
	bool no_email = code_matches(best, noemail_codes) || words_match(diagnostic, noemail_words);
	if (klass == 5 || (klass == 0 && no_email)) {
		*type = BOUNCE_PERMANENT;
		*subtype = no_email ? BOUNCE_SUB_NO_EMAIL : BOUNCE_SUB_GENERAL;
	} else if (klass == 4 || (klass == 0 && words_match(diagnostic, gave_up_words))) {
		*type = BOUNCE_TRANSIENT;
		*subtype = BOUNCE_SUB_GENERAL;
	} else {
		*type = BOUNCE_UNDETERMINED;
		*subtype = BOUNCE_SUB_UNDETERMINED;
	}
}
