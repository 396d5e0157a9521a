/* `canal admin ...`: runs an admin command against the data directory,
 * through the running server's admin socket when there is one, else by
 * opening the store directly. */
#ifndef CANAL_CLI_ADMIN_CLI_H
#define CANAL_CLI_ADMIN_CLI_H
int admin_cli_main(int argc, char **argv);
/* Name of the admin socket inside a data directory (heap string). */
char *admin_socket_path(const char *data_dir);
#endif
