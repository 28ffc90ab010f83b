/*
 * feedback - "mailward feedback parse": the events a message would give
 *
 *   mailward feedback parse [--shape event|notification] [--summary] FILE|-
 *	Read one message (a bounce, delay notice, complaint, or anything),
 *	print the SES-shaped events it would produce, one JSON object per
 *	line, and touch nothing: no store, no spool, no policy.
 *
 * For debugging the classifier, replaying old bounces and tests.  No
 * correlation is made (that needs the policy's VERP keys and the store):
 * mail.tags "mailward:correlation" says "none", and --summary prints the
 * VERP token candidates and the original's Message-ID the milter would
 * correlate with, on standard error.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/feedback.h"
#include "tools/tools.h"

#define MAX_MESSAGE (64 * 1024 * 1024)

enum { EXIT_EVENTS = 0, EXIT_NOT_FEEDBACK = 1, EXIT_ERROR = 2 };

static void
feedback_usage(FILE *out)
{
	fprintf(out,
	        "Usage: mailward feedback parse [--shape event|notification] [--summary] FILE|-\n"
	        "\n"
	        "Read one message from FILE (- for standard input) and print the events it\n"
	        "would produce, one JSON object per line, in the shape of Amazon SES's\n"
	        "event publishing (\"eventType\") or identity notifications\n"
	        "(\"notificationType\"): Bounce (one per bounce type and subtype among the\n"
	        "failed recipients), DeliveryDelay, Delivery or Complaint.  Nothing is\n"
	        "stored, spooled or sent, and the policy is not read: the mail object is\n"
	        "what the returned message says (mail.messageId is null; the milter fills\n"
	        "it from the VERP token or the store).\n"
	        "\n"
	        "Read: RFC 3464 delivery status notifications, the text bounces of Exim,\n"
	        "qmail, Yahoo, Exchange and others with an SMTP reply next to an address,\n"
	        "and ARF complaints (RFC 5965).  Auto-replies (RFC 3834) are not bounces.\n"
	        "\n"
	        "  -s, --shape S    event (default) or notification\n"
	        "  -v, --summary    also print one line on standard error: the kind, the\n"
	        "                   format read, the recipients with their bounce type and\n"
	        "                   subtype, the VERP token candidates and the original\n"
	        "                   Message-ID\n"
	        "  -h, --help       show this help and exit\n"
	        "\n"
	        "Exit status: 0 events printed, 1 the message is not feedback (or is an\n"
	        "auto-reply), 2 errors (unreadable file, not a message, bad options).\n");
}

static int
read_all(const char *path, struct buf *out)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char chunk[65536];
	size_t n;

	if (in == NULL) {
		perror(path);
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
		if (out->len + n > MAX_MESSAGE) {
			fprintf(stderr, "mailward feedback: %s: larger than %d MB\n", path,
			        MAX_MESSAGE >> 20);
			break;
		}
		buf_append(out, chunk, n);
	}
	bool failed = ferror(in) || out->len + n > MAX_MESSAGE;
	if (in != stdin)
		fclose(in);
	return failed ? -1 : 0;
}

static void
summary_print(const struct feedback *fb)
{
	fprintf(stderr, "kind=%s format=%s", feedback_kind_name(fb->kind),
	        fb->format != NULL ? fb->format : "-");
	for (size_t i = 0; i < fb->rcpt_count; i++)
		fprintf(stderr, " rcpt=%s:%s/%s:%s", fb->rcpts[i].address,
		        bounce_type_name(fb->rcpts[i].type),
		        bounce_subtype_name(fb->rcpts[i].subtype),
		        fb->rcpts[i].status != NULL ? fb->rcpts[i].status : "-");
	for (size_t i = 0; i < fb->orig.token_count; i++)
		fprintf(stderr, " verp=%s", fb->orig.tokens[i]);
	if (fb->orig.message_id != NULL)
		fprintf(stderr, " message-id=<%s>", fb->orig.message_id);
	fputc('\n', stderr);
}

static int
parse_one(const char *path, enum feedback_shape shape, bool summary)
{
	struct buf msg = BUF_INIT, err = BUF_INIT;
	struct feedback fb;
	int status = EXIT_ERROR;
	size_t count;

	if (read_all(path, &msg) < 0) {
		buf_free(&msg);
		return EXIT_ERROR;
	}
	feedback_init();
	if (feedback_parse(msg.data != NULL ? msg.data : "", msg.len, &fb, &err) ==
	    FEEDBACK_ERROR) {
		fprintf(stderr, "mailward feedback: %s: %s\n", path, buf_str(&err));
		goto out;
	}
	if (summary)
		summary_print(&fb);
	count = feedback_event_count(&fb);
	status = count > 0 ? EXIT_EVENTS : EXIT_NOT_FEEDBACK;
	for (size_t i = 0; i < count; i++) {
		size_t len;
		char *json = feedback_event_json(&fb, NULL, shape, i, &len);
		if (json == NULL) {
			fprintf(stderr, "mailward feedback: %s: event %zu not built\n", path, i);
			status = EXIT_ERROR;
			continue;
		}
		fwrite(json, 1, len, stdout);
		free(json);
	}
	if (fflush(stdout) != 0)
		status = EXIT_ERROR;
out:
	feedback_free(&fb);
	buf_free(&msg);
	buf_free(&err);
	return status;
}

int
feedback_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "shape", required_argument, NULL, 's' },
		{ "summary", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum feedback_shape shape = FEEDBACK_SHAPE_EVENT;
	bool summary = false;
	int c;

	if (argc < 2 || strcmp(argv[1], "parse") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
			feedback_usage(stdout);
			return 0;
		}
		feedback_usage(stderr);
		return EXIT_ERROR;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "s:vh", options, NULL)) != -1) {
		switch (c) {
		case 's':
			if (strcmp(optarg, "event") == 0)
				shape = FEEDBACK_SHAPE_EVENT;
			else if (strcmp(optarg, "notification") == 0)
				shape = FEEDBACK_SHAPE_NOTIFICATION;
			else {
				fprintf(stderr, "mailward feedback: --shape event|notification\n");
				return EXIT_ERROR;
			}
			break;
		case 'v':
			summary = true;
			break;
		case 'h':
			feedback_usage(stdout);
			return 0;
		default:
			feedback_usage(stderr);
			return EXIT_ERROR;
		}
	}
	if (optind != argc - 1) {
		feedback_usage(stderr);
		return EXIT_ERROR;
	}
	return parse_one(argv[optind], shape, summary);
}
