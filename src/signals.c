/* Signal masks and handlers shared by the process roles. */
#include <string.h>

#include "signals.h"

static sigset_t	 saved_mask;	/* the mask before signals_block() */
static int	 blocked;

void
signals_block(void)
{
	sigset_t	 set;

	if (blocked)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_BLOCK, &set, &saved_mask);
	blocked = 1;
}

void
signals_unblock(void)
{
	if (blocked)
		sigprocmask(SIG_SETMASK, &saved_mask, NULL);
	blocked = 0;
}

void
signals_saved_mask(sigset_t *out)
{
	if (blocked)
		*out = saved_mask;
	else
		sigprocmask(SIG_SETMASK, NULL, out);
}

void
signals_child(void (*on_stop)(int), const sigset_t *mask)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;	/* no SA_RESTART: a wait ends in EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
}
