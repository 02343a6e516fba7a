/*
 * The ceiling of any FastCGI authorizer: answers 200 to everything.
 * Usage: trivial_authz ADDRESS WORKERS
 * ADDRESS is a unix socket path (starting with /) or host:port (TCP, for
 * Apache's mod_authnz_fcgi, which speaks TCP only). Binds it, forks WORKERS
 * processes that accept on it (as authgw does) and waits for them; SIGTERM
 * to the process group ends them. Benchmark only.
 *
 * As a responder (nginx auth_request) it answers X-Auth-User; in the
 * FastCGI authorizer role (lighttpd "mode" => "authorizer", Apache
 * mod_authnz_fcgi) it answers the Variable-* headers authgw answers there,
 * so that the web server passes on the same environment (Apache's UserExpr
 * needs Variable-REMOTE_USER).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#define TRIVIAL_MAXWORKERS	64
#define TRIVIAL_MAXHOST		256

static const char answer_responder[] = "Status: 200 OK\r\n"
    "X-Auth-User: bench@example.com\r\nContent-Length: 0\r\n\r\n";

static const char answer_authorizer[] = "Status: 200 OK\r\n"
    "Variable-REMOTE_USER: bench@example.com\r\n"
    "Variable-AUTH_USER: bench@example.com\r\n"
    "Variable-AUTH_USER_ID: 1\r\n"
    "Variable-AUTH_ROLE: user\r\n"
    "Variable-AUTH_VERIFIED: 1\r\n"
    "Content-Length: 0\r\n\r\n";

static int
serve(int fd)
{
	FCGX_Request	 req;
	const char	*role;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, fd, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		role = FCGX_GetParam("FCGI_ROLE", req.envp);
		if (role != NULL && strcmp(role, "AUTHORIZER") == 0)
			FCGX_PutStr(answer_authorizer,
			    (int)sizeof(answer_authorizer) - 1, req.out);
		else
			FCGX_PutStr(answer_responder,
			    (int)sizeof(answer_responder) - 1, req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}

/* A listening unix socket at path (mode 0666), or -1. */
static int
listen_unix(const char *path)
{
	struct sockaddr_un	 sun;
	size_t			 len = strlen(path);
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (len >= sizeof(sun.sun_path)) {
		fprintf(stderr, "trivial_authz: socket path too long\n");
		return -1;
	}
	memcpy(sun.sun_path, path, len + 1);
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0666) == -1 || listen(fd, 1024) == -1) {
		perror("trivial_authz");
		return -1;
	}
	return fd;
}

/* A listening TCP socket at "host:port", or -1. */
static int
listen_tcp(const char *addr)
{
	struct addrinfo		 hints, *res = NULL;
	char			 host[TRIVIAL_MAXHOST];
	const char		*colon = strrchr(addr, ':');
	size_t			 hlen;
	int			 fd = -1, on = 1, rc;

	if (colon == NULL || (hlen = (size_t)(colon - addr)) == 0 ||
	    hlen >= sizeof(host)) {
		fprintf(stderr, "trivial_authz: address is not host:port\n");
		return -1;
	}
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		fprintf(stderr, "trivial_authz: %s\n", gai_strerror(rc));
		return -1;
	}
	if ((fd = socket(res->ai_family, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 1024) == -1) {
		perror("trivial_authz");
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

int
main(int argc, char *argv[])
{
	char	*end;
	long	 n;
	int	 fd, i;

	if (argc == 3) {
		errno = 0;
		n = strtol(argv[2], &end, 10);
		if (errno != 0 || end == argv[2] || *end != '\0' || n < 1 ||
		    n > TRIVIAL_MAXWORKERS)
			argc = 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: trivial_authz SOCKET|HOST:PORT "
		    "WORKERS(1-%d)\n", TRIVIAL_MAXWORKERS);
		return 64;
	}
	fd = argv[1][0] == '/' ? listen_unix(argv[1]) : listen_tcp(argv[1]);
	if (fd == -1)
		return 1;
	for (i = 0; i < n; i++)
		if (fork() == 0)
			_exit(serve(fd));
	while (wait(NULL) > 0)
		;
	return 0;
}
