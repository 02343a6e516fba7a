/*
 * libFuzzer harness for the configuration parser: config_set with the
 * input split at its first '=' into key and value, and config_load on
 * the whole input as a file (a memfd seen through /proc/self/fd).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

#define FUZZ_VALUE_MAX	8192

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_err(const char *err, size_t errsz)
{
	if (memchr(err, '\0', errsz) == NULL)
		abort();
}

static void
fuzz_set(const char *p, size_t size)
{
	static char	 s[FUZZ_VALUE_MAX + 1];
	struct config	 cfg;
	char		 err[256];
	char		*eq;
	size_t		 len;

	len = size < FUZZ_VALUE_MAX ? size : FUZZ_VALUE_MAX;
	memcpy(s, p, len);
	s[len] = '\0';
	if ((eq = memchr(s, '=', len)) == NULL)
		return;
	*eq = '\0';
	config_defaults(&cfg);
	memset(err, 'x', sizeof(err));
	if (config_set(&cfg, s, eq + 1, err, sizeof(err)) == -1)
		check_err(err, sizeof(err));
}

static void
fuzz_load(const char *p, size_t size)
{
	static int	 fd = -2;
	static char	 path[64];
	struct config	 cfg;
	char		 err[512];

	if (fd == -2) {
		fd = memfd_create("authgw-fuzz.conf", MFD_CLOEXEC);
		if (fd >= 0)
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (fd < 0 || ftruncate(fd, 0) == -1)
		return;
	if (size > 0 && pwrite(fd, p, size, 0) != (ssize_t)size)
		return;
	config_defaults(&cfg);
	memset(err, 'x', sizeof(err));
	if (config_load(path, &cfg, err, sizeof(err)) == -1)
		check_err(err, sizeof(err));
	else if (cfg.workers < 1 || cfg.workers > CONFIG_WORKERS_MAX ||
	    cfg.session_max_lifetime < cfg.session_lifetime)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_set((const char *)data, size);
	fuzz_load((const char *)data, size);
	return 0;
}
