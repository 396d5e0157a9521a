/* `canal serve`: the server process. */
#ifndef CANAL_CLI_SERVE_H
#define CANAL_CLI_SERVE_H
int serve_main(int argc, char **argv);
#endif
