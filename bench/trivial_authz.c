/*
 * The ceiling of any FastCGI authorizer: answers 200 to everything.
 * Usage: trivial_authz SOCKET_PATH WORKERS
 * Binds a unix socket, forks WORKERS processes that accept on it (as authgw
 * does) and waits for them; SIGTERM ends the group. Benchmark only.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

static int
serve(int fd)
{
	FCGX_Request	 req;
	static const char answer[] = "Status: 200 OK\r\n"
	    "X-Auth-User: bench@example.com\r\nContent-Length: 0\r\n\r\n";

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, fd, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(answer, (int)sizeof(answer) - 1, req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	int			 fd, i, n;

	if (argc != 3 || (n = atoi(argv[2])) < 1 || n > 64) {
		fprintf(stderr, "usage: trivial_authz SOCKET WORKERS\n");
		return 64;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sun.sun_path))
		return 64;
	memcpy(sun.sun_path, argv[1], strlen(argv[1]) + 1);
	unlink(argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(argv[1], 0666) == -1 || listen(fd, 1024) == -1) {
		perror("trivial_authz");
		return 1;
	}
	for (i = 0; i < n; i++)
		if (fork() == 0)
			_exit(serve(fd));
	while (wait(NULL) > 0)
		;
	return 0;
}
