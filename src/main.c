/* authgw: option parsing and the choice of a mode (SPEC section 2). */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "cgi.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "master.h"
#include "privdrop.h"
#include "signals.h"
#include "stats.h"
#include "util.h"

#ifndef AUTHGW_VERSION
#define AUTHGW_VERSION	"unknown"
#endif

static const char	usage_text[] =
"usage: authgw [-c FILE]                 serve (FastCGI, or CGI)\n"
"       authgw -c FILE check-config      validate, print the configuration\n"
"       authgw -c FILE db migrate\n"
"       authgw -c FILE user add EMAIL [--admin] [--verified]\n"
"       authgw -c FILE user passwd EMAIL\n"
"       authgw -c FILE user role EMAIL admin|user\n"
"       authgw -c FILE user verify|disable|enable|del EMAIL\n"
"       authgw -c FILE user list\n"
"       authgw -c FILE user totp-reset EMAIL   remove the second factor\n"
"       authgw -c FILE session list [EMAIL] | revoke ID | purge\n"
"       authgw -c FILE token add EMAIL NAME [--expires SECONDS]\n"
"       authgw -c FILE token list [EMAIL] | revoke ID\n"
"       authgw -c FILE maintenance       purge and send due mail once (cron)\n"
"       authgw --version | --help\n"
"Passwords are read from the first line of standard input.\n";

/*
 * fds 0, 1 and 2 must be open before anything else is: a file opened
 * while one is closed (the configuration, the database) would take its
 * number and receive log lines or be read as a request. A closed fd 0 is
 * no listening socket, so /dev/null there changes no mode.
 */
static void
check_fds(void)
{
	int	 fd;

	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF &&
		    open("/dev/null", O_RDWR) != fd)
			abort();
}

static int
is_listening_socket(int fd)
{
	int		 v = 0;
	socklen_t	 len = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 &&
	    v != 0;
}

/* fd 3 from systemd socket activation, or -1. */
static int
systemd_fd(void)
{
	const char	*fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	int64_t		 n, p;

	if (fds == NULL || pid == NULL ||
	    util_parse_int64(fds, strlen(fds), 1, 64, &n) == -1 ||
	    util_parse_int64(pid, strlen(pid), 1, INT32_MAX, &p) == -1 ||
	    p != (int64_t)getpid())
		return -1;
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	return 3;
}

static int
serve_cgi(struct config *cfg)
{
	struct app	 app;
	struct stats	*stats;
	int		 rc;

	stats = stats_create(0);
	app_init(&app, cfg, stats, -1);
	/* Opened by the first thing that needs it (a check the host table
	 * answers does not), which then creates or migrates the schema:
	 * the first request of a fresh install creates it. */
	app.store_migrate = 1;
	rc = cgi_serve(&app);
	app_free(&app);
	free(stats);
	return rc;
}

/*
 * FastCGI on the socket we bind (listen), the one systemd passes (fd 3)
 * or the one we inherit (fd 0); else plain CGI, or a configuration error.
 */
static int
serve(struct config *cfg)
{
	char	 err[1024];
	uid_t	 uid;
	gid_t	 gid;
	int	 fd = -1, inherited = 0;

	signals_block();
	if (cfg->listen[0] == '\0') {
		inherited = 1;
		if ((fd = systemd_fd()) == -1 && is_listening_socket(0))
			fd = 0;
		if (fd == -1 && getenv("GATEWAY_INTERFACE") != NULL) {
			signals_unblock();
			return serve_cgi(cfg);
		}
		if (fd == -1) {
			log_error("%s: no 'listen' configured and fd 0 is not a "
			    "listening socket (nor a CGI request)", cfg->path);
			return EXIT_CONFIG;
		}
	}
	/* Who gets the socket: a user or group that does not exist is a
	 * configuration error, found before anything is bound. */
	if (master_socket_owner(cfg, &uid, &gid, err, sizeof(err)) == -1) {
		log_error("%s: %s", cfg->path, err);
		return EXIT_CONFIG;
	}
	if (fd == -1 && (fd = master_listen(cfg, err, sizeof(err))) == -1) {
		log_error("%s", err);
		return 1;
	}
	return master_run(cfg, fd, inherited);
}

/*
 * Root without a user to drop to: the command line writes only in
 * directories that are root's alone (the database's, the host table's),
 * else a planted link would have root write through it. 'user' naming
 * an account of uid 0 is refused outright: it promises a drop that does
 * not happen. Returns 0, or -1 after the one-line reason on stderr.
 */
static int
root_command_allowed(const struct config *cfg)
{
	char	 err[PATH_MAX + 128], cache[PATH_MAX];

	if (privdrop_user_is_root(cfg->user)) {
		fprintf(stderr, "authgw: %s: user %s has uid 0: name the "
		    "service's user (the command line then becomes it)\n",
		    cfg->path, cfg->user);
		return -1;
	}
	if (geteuid() != 0 || cfg->user[0] != '\0')
		return 0;
	if ((!config_database_is_pg(cfg->database) &&
	    privdrop_root_dir_check(cfg->database, err, sizeof(err)) == -1) ||
	    (config_cache_path(cfg, cache, sizeof(cache)) == 0 &&
	    privdrop_root_dir_check(cache, err, sizeof(err)) == -1)) {
		fprintf(stderr, "authgw: %s: run as root without 'user', "
		    "and %s: set 'user' to the service's user\n", cfg->path,
		    err);
		return -1;
	}
	return 0;
}

/*
 * The command line. Run as root with a 'user' configured (sudo authgw
 * user add ...), it works as that user from the start: the files it
 * creates beside the database (the database itself, its -wal and -shm,
 * the host table, the hashing lock) must be the service's, which could
 * not open root's, and the host table refuses a file it does not own.
 * Root without 'user': see root_command_allowed.
 */
static int
run_command(struct config *cfg, int argc, char **argv)
{
	char	 err[256];

	if (root_command_allowed(cfg) == -1)
		return EXIT_CONFIG;
	switch (privdrop_user(cfg->user, err, sizeof(err))) {
	case PRIVDROP_OK:
		return cli_run(cfg, argc, argv);
	case PRIVDROP_NO_USER:
		fprintf(stderr, "authgw: %s: %s\n", cfg->path, err);
		return EXIT_CONFIG;
	default:
		fprintf(stderr, "authgw: %s\n", err);
		return 1;
	}
}

/* CGI with a bad config still answers, so the browser sees an error. */
static void
cgi_config_error(void)
{
	if (getenv("GATEWAY_INTERFACE") != NULL && !is_listening_socket(0))
		fputs("Status: 500 Internal Server Error\r\n"
		    "Content-Type: text/plain\r\nCache-Control: no-store\r\n\r\n"
		    "authgw: configuration error (see the server log)\n",
		    stdout);
}

int
main(int argc, char *argv[])
{
	struct config	 cfg;
	const char	*path = NULL;
	char		 err[1024];
	int		 i;

	check_fds();
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0 ||
		    strcmp(argv[i], "-V") == 0) {
			puts("authgw " AUTHGW_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (strcmp(argv[i], "-c") == 0) {
			if (++i == argc) {
				fputs(usage_text, stderr);
				return EXIT_USAGE;
			}
			path = argv[i];
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "authgw: unknown option %s\n", argv[i]);
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		} else
			break;
	}
	if (path == NULL && (path = getenv("AUTHGW_CONFIG")) == NULL)
		path = CONFIG_DEFAULT_PATH;
	/* The database holds password hashes, the secret and unsent links;
	 * the cache file the same sessions: readable by us alone. */
	umask(077);
	log_init("authgw", LOG_LEVEL_INFO, 0);
	if (config_load(path, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "authgw: %s\n", err);
		cgi_config_error();
		return EXIT_CONFIG;
	}
	log_init("authgw", (enum log_level)cfg.log_level, cfg.syslog);
	if (i < argc)
		return run_command(&cfg, argc - i, argv + i);
	if (geteuid() == 0 && (cfg.user[0] == '\0' ||
	    privdrop_user_is_root(cfg.user)))
		log_warn("running as root: set 'user' to drop privileges");
	return serve(&cfg);
}
