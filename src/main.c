/* canal: the command line. One binary: the server and its admin tools. */
#include <stdio.h>
#include <string.h>

#include "cli/admin_cli.h"
#include "cli/config.h"
#include "cli/serve.h"

#define CANAL_VERSION "0.1.0"

static int usage(FILE *f)
{
	fprintf(f, "usage: canal COMMAND [options]\n"
		   "  serve [--config FILE] [--data DIR] [--listen HOST:PORT] ...  run the server\n"
		   "  admin COMMAND ... [--data DIR] [--json]                      administer (see canal admin --help)\n"
		   "  version                                                      print the version\n\n%s",
		config_help());
	return f == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	const char *cmd = argv[1];
	if (!strcmp(cmd, "serve"))
		return serve_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "admin"))
		return admin_cli_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("canal %s\n", CANAL_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
		return usage(stdout);
	fprintf(stderr, "canal: unknown command '%s'\n", cmd);
	return usage(stderr);
}
