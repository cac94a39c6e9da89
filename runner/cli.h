/* Entry points of the runner's subcommands (runner/main.c dispatches to them); each returns the
 * process exit status (common/cli.h). */
#ifndef CARAPACE_RUNNER_CLI_H
#define CARAPACE_RUNNER_CLI_H
int runner_cli_run(int argc, char **argv);       /* runner/cli_run.c */
int runner_cli_host_info(int argc, char **argv); /* runner/cli_host_info.c */
#endif
