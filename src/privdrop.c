/* Giving up root for the configured service user (the master before it
 * forks, the command line before it opens the database). */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "privdrop.h"

enum privdrop_result
privdrop_user(const char *user, char *err, size_t errsz)
{
	struct passwd	*pw;
	uid_t		 ruid, euid, suid;
	int		 saved;

	if (geteuid() != 0 || user[0] == '\0')
		return PRIVDROP_OK;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		/* errno 0 (or ENOENT and friends): the name is not there. */
		saved = errno;
		if (saved == 0 || saved == ENOENT || saved == ESRCH ||
		    saved == EBADF || saved == EPERM) {
			snprintf(err, errsz, "user %s: no such user", user);
			return PRIVDROP_NO_USER;
		}
		snprintf(err, errsz, "user %s: %s", user, strerror(saved));
		return PRIVDROP_FAILED;
	}
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		snprintf(err, errsz, "dropping privileges to %s: %s", user,
		    strerror(errno));
		return PRIVDROP_FAILED;
	}
	/* Root cannot come back (uid 0 as the user itself is no drop). */
	if (getresuid(&ruid, &euid, &suid) == -1 || ruid != pw->pw_uid ||
	    euid != pw->pw_uid || suid != pw->pw_uid ||
	    (pw->pw_uid != 0 && setuid(0) != -1)) {
		snprintf(err, errsz, "dropping privileges to %s: still root",
		    user);
		return PRIVDROP_FAILED;
	}
	return PRIVDROP_OK;
}
