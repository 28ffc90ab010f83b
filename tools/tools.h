/*
 * tools - the admin subcommands of the mailward binary
 *
 * "mailward SUBCOMMAND ..." runs one of these instead of the daemon; each
 * gets argv starting at its own name and returns the exit status.
 */
#ifndef MW_TOOLS_H
#define MW_TOOLS_H

#ifndef MW_DEFAULT_POLICY
#define MW_DEFAULT_POLICY "/etc/mailward/mailward.conf"
#endif

#include <stdio.h>

/* Run argv[0] as a subcommand; its exit status. */
int tools_run(int argc, char **argv);
/* One line per subcommand, for --help. */
void tools_list(FILE *out);

int keygen_main(int argc, char **argv);
int suppression_main(int argc, char **argv);
int stream_main(int argc, char **argv);
int report_main(int argc, char **argv);
int events_main(int argc, char **argv);
int feedback_main(int argc, char **argv);
int stats_main(int argc, char **argv);

#endif
