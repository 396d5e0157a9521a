/* libFuzzer harness for configuration parsing (src/cli/config.c):
 * config_load_file on arbitrary file contents and config_load_args on an
 * argv made from the same bytes.
 *
 * The file is a memfd (memfd_create) read through /proc/self/fd/N, so the
 * real fopen/fgets path runs with no disk I/O. argv is the input split at
 * '\n' (at most 64 arguments); any --config value is pointed at the same
 * memfd so the fuzzer cannot make the parser open /dev/zero or a FIFO.
 * Properties: on success every string setting is set and every number is
 * non-negative; on failure an error message is written; config_release
 * frees everything (LeakSanitizer checks). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/config.h"

static void check(const canal_config *c, int rc, const char *err)
{
	if (rc != 0) {
		if (!err[0])
			abort();
		return;
	}
	if (!c->listen || !c->data_dir || !c->log_level || !c->sync)
		abort();
	if (c->max_body < 0 || c->max_header < 0 || c->max_connections < 0 || c->idle_timeout_ms < 0 ||
	    c->max_msg_chars < 0 || c->batch_max < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	int fd = memfd_create("canal-fuzz-config", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, in, size) != (ssize_t)size)
		abort();
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

	canal_config c;
	char err[512] = "";
	config_defaults(&c);
	int rc = config_load_file(&c, path, err, sizeof err);
	check(&c, rc, err);
	config_release(&c);

	/* argv from the same bytes, split at newlines. */
	char *copy = malloc(size + 1);
	memcpy(copy, in, size);
	copy[size] = '\0';
	char *argv[64];
	int argc = 0;
	char cfg_eq[80];
	snprintf(cfg_eq, sizeof cfg_eq, "--config=%s", path);
	for (char *p = copy; argc < 64;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		argv[argc] = p;
		if (strncmp(p, "--config=", 9) == 0)
			argv[argc] = cfg_eq;
		else if (argc > 0 && strcmp(argv[argc - 1], "--config") == 0)
			argv[argc] = path;
		argc++;
		if (!nl)
			break;
		p = nl + 1;
	}
	err[0] = '\0';
	config_defaults(&c);
	rc = config_load_args(&c, argc, argv, err, sizeof err);
	check(&c, rc, err);
	config_release(&c);
	free(copy);
	close(fd);
	return 0;
}
