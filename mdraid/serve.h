/*
 * serve.h: the verbs that front nbdkit-mdraid-plugin.so (serve.c), called
 * from main.c as grow_main is: each parses its own options (lib/cli.h).
 */
#ifndef MDRAID_SERVE_H
#define MDRAID_SERVE_H

/* mdraid serve: exec nbdkit -f -U SOCKET with the plugin and the members;
 * returns only when nbdkit cannot be run (an exit code). argv[0] = "serve". */
int serve_main(int argc, char **argv);
/* mdraid stop: SIGTERM to the plugin's nbdkit on --socket, wait until it
 * has exited (the array is then clean); an exit code. */
int stop_main(int argc, char **argv);
/* mdraid overlay commit|discard DIR ...: end a serve --overlay=DIR. */
int overlay_main(int argc, char **argv);

/* What --force chose for stale members (a->forced, reshape_forced()), one
 * warning per line ("mdraid: PREFIX..."), as mdadm prints it to stderr;
 * serve --dry-run, main.c's verbs and grow print it alike. */
void md_forced_print(const char *forced, const char *prefix);

#endif
