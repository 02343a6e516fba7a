/* The configuration file of SPEC section 3: strict parser, defaults, printer. */
#ifndef AUTHGW_CONFIG_H
#define AUTHGW_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#define CONFIG_PATH_MAX		1024
#define CONFIG_LINE_MAX		4096
#define CONFIG_WORKERS_MAX	256

#ifndef AUTHGW_SYSCONFDIR
#define AUTHGW_SYSCONFDIR	"/etc"
#endif
#ifndef AUTHGW_DATADIR
#define AUTHGW_DATADIR		"/usr/share"
#endif
#define CONFIG_DEFAULT_PATH	AUTHGW_SYSCONFDIR "/authgw.conf"

struct config {
	char	 path[CONFIG_PATH_MAX];		/* file it was read from */
	char	 listen[CONFIG_PATH_MAX];	/* "" = none */
	int	 socket_mode;			/* unix socket permissions */
	int	 workers;
	char	 database[CONFIG_PATH_MAX];
	char	 memcached[CONFIG_PATH_MAX];	/* "" = none */
	int64_t	 cache_ttl;
	int	 cache_entries;			/* host-local cache slots; 0 = off */
	int64_t	 cache_local_ttl;		/* life of a host-local entry */
	char	 host_name[256];		/* in /admin's table of hosts;
						   "" = the system's */
	char	 cache_file[CONFIG_PATH_MAX];	/* the host table's file; ""
						   = DATABASE-sessions.cache */
	char	 prefix[256];			/* "" when "/" */
	char	 base_url[512];			/* without trailing '/' */
	char	 cookie_name[64];
	int	 cookie_secure;
	char	 cookie_domain[256];
	int64_t	 session_lifetime;
	int64_t	 session_max_lifetime;
	int64_t	 login_window;
	int	 login_max_per_account;
	int	 login_max_per_ip;
	int	 login_ipv6_prefix;		/* bits counted per IPv6 client */
	int	 require_verified_email;
	int64_t	 verify_token_ttl;
	int	 registration;
	char	 mail_command[CONFIG_PATH_MAX];
	char	 mail_from[256];
	int64_t	 mail_timeout;			/* a hanging mail_command is killed */
	int64_t	 mail_retry;			/* first retry delay, doubling */
	char	 www_dir[CONFIG_PATH_MAX];
	char	 metrics_allow[1024];
	int	 log_level;			/* enum log_level */
	int	 syslog;
	int64_t	 maintenance_interval;
	int	 scrypt_log2n;			/* N = 2^scrypt_log2n */
	int	 scrypt_r;
	int	 scrypt_p;
	char	 user[64];			/* drop privileges to, if root */
	char	 socket_group[64];		/* group of a unix listen socket */
	int64_t	 io_timeout;			/* a silent FastCGI client */
	int	 max_sessions_per_user;
	int	 hash_slots;			/* scrypt at once per host; 0 = auto */
	int	 hash_queue;			/* waiting for a slot; -1 = auto */
	int64_t	 check_cache;			/* X-Accel-Expires of a success */
	int64_t	 reset_token_ttl;		/* life of a password-reset link */
	int	 notify_login;			/* mail logins from new places */
	int64_t	 totp_pending_ttl;		/* life of a pending login (SPEC 9) */
};

/* Fill cfg with the defaults of SPEC section 3. */
void	config_defaults(struct config *cfg);

/*
 * Read path over the defaults. Returns 0, or -1 with a one-line reason
 * ("FILE:LINE: ...") in err. cfg is only written on success.
 */
int	config_load(const char *path, struct config *cfg, char *err,
	    size_t errsz);

/*
 * Apply one "key = value" pair (value without surrounding spaces).
 * Returns 0, or -1 with a reason (without file:line) in err.
 */
int	config_set(struct config *cfg, const char *key, const char *value,
	    char *err, size_t errsz);

/* Print the effective configuration in the file's own syntax. */
void	config_print(const struct config *cfg, FILE *fp);

/* 1 when database is a PostgreSQL connection URI (postgresql:// or
 * postgres://, any case; SPEC 3, 8), else it names an SQLite file. */
int	config_database_is_pg(const char *database);
/*
 * This host's files: the host table (cache_file, or the database's path
 * with "-sessions.cache") and the base name the host's lock files add a
 * suffix to (cache_file, or the database's path). 0, or -1 when too long.
 */
int	config_cache_path(const struct config *cfg, char *out, size_t outsz);
const char *config_host_base(const struct config *cfg);
/*
 * The other owner this host's files may have besides the effective uid:
 * the SQLite database's owner (who can write the authority anyway, e.g.
 * the service user when root runs the command line), -1 with PostgreSQL.
 */
long	config_files_owner(const struct config *cfg);

#endif
