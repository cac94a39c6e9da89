/* Entry point of `carapace measure`; returns the process exit status (common/cli.h). */
#ifndef CARAPACE_MEMENC_CLI_H
#define CARAPACE_MEMENC_CLI_H
int memenc_cli_measure(int argc, char **argv); /* memenc/cli_measure.c */
#endif
