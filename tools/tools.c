/*
 * tools - dispatch "mailward SUBCOMMAND"; see tools.h.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "tools/tools.h"

static const struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} subcommands[] = {
	{ "keygen", keygen_main,
	  "make a DKIM key and print its DNS record; check published records" },
	{ "events", events_main,
	  "the event spool: list, tail, show, ack, redrive; the webhook dispatcher" },
	{ "feedback", feedback_main,
	  "print the SES-shaped events a bounce or complaint gives (feedback parse FILE)" },
	{ "suppression", suppression_main,
	  "the suppression list: list, get, add, remove, import, export" },
	{ "stream", stream_main, "reputation of sending streams: list, pause, resume" },
	{ "report", report_main, "write DMARC aggregate reports (RFC 7489 XML) from the history" },
	{ "stats", stats_main, "what the running daemon counted (its /metrics page) as tables" },
};

int
tools_run(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(argv[0], subcommands[i].name) == 0) {
			optind = 1;
			return subcommands[i].run(argc, argv);
		}
	}
	fprintf(stderr, "mailward: unknown subcommand \"%s\"\nTry 'mailward --help'.\n", argv[0]);
	return EX_USAGE;
}

void
tools_list(FILE *out)
{
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  mailward %-12s %s\n", subcommands[i].name, subcommands[i].summary);
}
