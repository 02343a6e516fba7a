/* Fixtures for the unit tests of the upper layers: see unitfix.h. */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "app.h"
#include "config.h"
#include "stats.h"
#include "store.h"
#include "unitfix.h"
#include "util.h"

int
unitfix_setup(struct unitfix *u, const char *const *kv)
{
	struct store	*st;
	const char	*srcdir = getenv("AUTHGW_SRCDIR");
	char		 err[512], path[CONFIG_PATH_MAX];
	int		 n;

	memset(u, 0, sizeof(*u));
	memcpy(u->dir, "/tmp/authgw-unit-XXXXXX", 24);
	if (mkdtemp(u->dir) == NULL)
		return -1;
	config_defaults(&u->cfg);
	n = snprintf(u->cfg.database, sizeof(u->cfg.database), "%s/authgw.db",
	    u->dir);
	if (n < 0 || (size_t)n >= sizeof(u->cfg.database))
		return -1;
	n = snprintf(path, sizeof(path), "%s/www",
	    srcdir != NULL ? srcdir : ".");
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    config_set(&u->cfg, "www_dir", path, err, sizeof(err)) == -1 ||
	    config_set(&u->cfg, "cache_entries", "0", err, sizeof(err)) == -1)
		return -1;
	for (; kv != NULL && kv[0] != NULL; kv += 2)
		if (config_set(&u->cfg, kv[0], kv[1], err, sizeof(err)) == -1) {
			fprintf(stderr, "unitfix: %s = %s: %s\n", kv[0], kv[1],
			    err);
			return -1;
		}
	if ((st = store_open(u->cfg.database, 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "unitfix: %s\n", err);
		return -1;
	}
	store_close(st);
	if ((u->stats = stats_create(0)) == NULL)
		return -1;
	app_init(&u->app, &u->cfg, u->stats, 0);
	return 0;
}

void
unitfix_teardown(struct unitfix *u)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[CONFIG_PATH_MAX];
	int		 n;

	app_free(&u->app);
	free(u->stats);
	u->stats = NULL;
	if (u->dir[0] == '\0' || (d = opendir(u->dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n = snprintf(path, sizeof(path), "%s/%s", u->dir, e->d_name);
		if (n > 0 && (size_t)n < sizeof(path))
			(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(u->dir);
}

int
unitfix_new(void **state, const char *const *kv)
{
	struct unitfix	*u;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return -1;
	if (unitfix_setup(u, kv) == -1) {
		unitfix_teardown(u);
		free(u);
		return -1;
	}
	*state = u;
	return 0;
}

int
unitfix_free(void **state)
{
	struct unitfix	*u = *state;

	unitfix_teardown(u);
	free(u);
	return 0;
}

void
unitfix_param(struct unitfix_params *p, const char *name, const char *value)
{
	if (value == NULL)
		return;
	if (p->n + 2 > UNITFIX_PARAMS_MAX) {
		fprintf(stderr, "unitfix: too many parameters\n");
		abort();
	}
	p->v[p->n++] = name;
	p->v[p->n++] = value;
	p->v[p->n] = NULL;
}

int64_t
unitfix_user(struct unitfix *u, const char *email, const char *role,
    int verified)
{
	struct store	*st = app_store(&u->app);
	int64_t		 id = -1;

	if (st == NULL || store_user_add(st, email, "$unit$nohash", role,
	    verified, util_now(), &id) != STORE_OK) {
		fprintf(stderr, "unitfix: cannot add user %s\n", email);
		abort();
	}
	return id;
}

static const char *
fake_param(void *ctx, const char *name)
{
	struct fake_io		*f = ctx;
	const char *const	*p;

	for (p = f->params; p != NULL && p[0] != NULL; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

static size_t
fake_count(void *ctx, const char *name)
{
	struct fake_io		*f = ctx;
	const char *const	*p;
	size_t			 n = 0;

	for (p = f->params; p != NULL && p[0] != NULL; p += 2)
		n += strcmp(p[0], name) == 0;
	return n;
}

static long
fake_read(void *ctx, char *p, size_t len)
{
	struct fake_io	*f = ctx;
	size_t		 left = f->body_len - f->body_off;

	if (len > left)
		len = left;
	if (len > 0)
		memcpy(p, f->body + f->body_off, len);
	f->body_off += len;
	return (long)len;
}

static int
fake_write(void *ctx, const char *p, size_t len)
{
	struct fake_io	*f = ctx;

	if (f->fail_write)
		return -1;
	return buf_append(&f->out, p, len);
}

void
fakeio_init(struct fake_io *f, const char *const *params, const char *body)
{
	memset(f, 0, sizeof(*f));
	f->params = params;
	f->body = body;
	f->body_len = body != NULL ? strlen(body) : 0;
	f->io.param = fake_param;
	f->io.read = fake_read;
	f->io.write = fake_write;
	f->io.ctx = f;
	f->io.count = fake_count;
}

void
fakeio_free(struct fake_io *f)
{
	buf_free(&f->out);
}

int
fakeio_header(const struct fake_io *f, const char *name, char *out,
    size_t outsz)
{
	const char	*p = f->out.data, *end, *eol;
	size_t		 nlen = strlen(name), vlen;

	if (p == NULL)
		return 0;
	end = p + f->out.len;
	while (p < end && (eol = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (eol == p || (eol == p + 1 && p[0] == '\r'))
			break;		/* the blank line: end of the head */
		if ((size_t)(eol - p) > nlen + 1 &&
		    strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			p += nlen + 1;
			while (*p == ' ')
				p++;
			vlen = (size_t)(eol - p);
			if (vlen > 0 && p[vlen - 1] == '\r')
				vlen--;
			if (vlen >= outsz)
				return 0;
			memcpy(out, p, vlen);
			out[vlen] = '\0';
			return 1;
		}
		p = eol + 1;
	}
	return 0;
}

int
fakeio_status(const struct fake_io *f)
{
	char	 v[64];
	int64_t	 code;

	if (!fakeio_header(f, "Status", v, sizeof(v)) || strlen(v) < 3 ||
	    util_parse_int64(v, 3, 100, 599, &code) == -1)
		return -1;
	return (int)code;
}

#define MCD_BIN		"/usr/bin/memcached"
#define MCD_TRIES	3		/* ports tried */
#define MCD_POLLS	500		/* 10 ms apart: 5 s to listen */
#define MCD_POLL_NSEC	10000000L

/* A TCP port on 127.0.0.1 that was free a moment ago, or -1. */
static int
free_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* 1 if something accepts connections on 127.0.0.1:port. */
static int
port_answers(int port)
{
	struct sockaddr_in	 sin;
	int			 fd, ok;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

static pid_t
mcd_spawn(const char *port)
{
	pid_t	 pid;
	int	 fd;

	if ((pid = fork()) != 0)
		return pid;
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
	}
	if (geteuid() == 0)
		execl(MCD_BIN, "memcached", "-l", "127.0.0.1", "-p", port,
		    "-U", "0", "-u", "nobody", (char *)NULL);
	else
		execl(MCD_BIN, "memcached", "-l", "127.0.0.1", "-p", port,
		    "-U", "0", (char *)NULL);
	_exit(127);
}

/* Wait for pid to listen on port: 0, or -1 if it died or never did. */
static int
mcd_wait(pid_t pid, int port)
{
	struct timespec	 ts = { 0, MCD_POLL_NSEC };
	int		 i;

	for (i = 0; i < MCD_POLLS; i++) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return -1;
		if (port_answers(port))
			return 0;
		(void)nanosleep(&ts, NULL);
	}
	return -1;
}

void
unitfix_mcd_stop(struct unitfix_mcd *m)
{
	if (m->pid <= 0)
		return;
	(void)kill(m->pid, SIGTERM);
	while (waitpid(m->pid, NULL, 0) == -1 && errno == EINTR)
		continue;
	m->pid = 0;
}

int
unitfix_mcd_start(struct unitfix_mcd *m)
{
	char	 port[16];
	int	 i, p, n;

	memset(m, 0, sizeof(*m));
	if (access(MCD_BIN, X_OK) == -1)
		return -1;
	for (i = 0; i < MCD_TRIES; i++) {
		if ((p = free_port()) == -1)
			return -1;
		n = snprintf(port, sizeof(port), "%d", p);
		if (n < 0 || (size_t)n >= sizeof(port))
			return -1;
		if ((m->pid = mcd_spawn(port)) == -1) {
			m->pid = 0;
			return -1;
		}
		if (mcd_wait(m->pid, p) == 0) {
			n = snprintf(m->addr, sizeof(m->addr), "127.0.0.1:%d",
			    p);
			return n > 0 && (size_t)n < sizeof(m->addr) ? 0 : -1;
		}
		unitfix_mcd_stop(m);	/* reaps it if it died */
	}
	return -1;
}
