/* Giving up root for the configured service user (the master before it
 * forks, the command line before it opens the database). */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
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

int
privdrop_user_is_root(const char *user)
{
	struct passwd	*pw;

	if (geteuid() != 0 || user[0] == '\0')
		return 0;
	return (pw = getpwnam(user)) != NULL && pw->pw_uid == 0;
}

/*
 * Check dir (absolute, no trailing slash but for "/") and each directory
 * above it, with lstat: a symbolic link must be root's, and the directory
 * that holds it is checked next. Returns 0 or -1 with the reason in err.
 */
static int
root_chain_check(char *dir, char *err, size_t errsz)
{
	struct stat	 sb;
	char		*slash;
	int		 first = 1;

	for (;;) {
		if (lstat(dir, &sb) == -1) {
			snprintf(err, errsz, "%s: %s", dir, strerror(errno));
			return -1;
		}
		/* A link's own mode means nothing; its owner may replace
		 * it in a sticky directory. */
		if (sb.st_uid != 0 || (!S_ISLNK(sb.st_mode) &&
		    (sb.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
		    (first || (sb.st_mode & S_ISVTX) == 0))) {
			snprintf(err, errsz, "%s is not root's alone (owner "
			    "uid %ld, mode %03o)", dir, (long)sb.st_uid,
			    (unsigned)(sb.st_mode & 07777));
			return -1;
		}
		first = 0;
		if (strcmp(dir, "/") == 0)
			return 0;
		slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}

int
privdrop_root_dir_check(const char *file, char *err, size_t errsz)
{
	struct stat	 sb;
	char		 dir[PATH_MAX], cwd[PATH_MAX], real[PATH_MAX];
	char		*slash;
	size_t		 len;
	int		 n;

	if (file[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s", file);
	else if (getcwd(cwd, sizeof(cwd)) == NULL) {
		snprintf(err, errsz, "getcwd: %s", strerror(errno));
		return -1;
	} else
		n = snprintf(dir, sizeof(dir), "%s/%s", cwd, file);
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		snprintf(err, errsz, "%s: path too long", file);
		return -1;
	}
	/* The directory: everything before the last slash. */
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	/* A directory not there yet: its nearest existing ancestor, where
	 * it would be made. */
	for (;;) {
		while ((len = strlen(dir)) > 1 && dir[len - 1] == '/')
			dir[len - 1] = '\0';
		if (lstat(dir, &sb) == 0 || errno != ENOENT ||
		    strcmp(dir, "/") == 0)
			break;
		slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (realpath(dir, real) == NULL) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (root_chain_check(dir, err, errsz) == -1 ||
	    root_chain_check(real, err, errsz) == -1)
		return -1;
	return 0;
}
