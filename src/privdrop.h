/* Giving up root for the configured service user. */
#ifndef AUTHGW_PRIVDROP_H
#define AUTHGW_PRIVDROP_H

#include <stddef.h>

enum privdrop_result {
	PRIVDROP_OK = 0,	/* now that user, or nothing to do */
	PRIVDROP_NO_USER,	/* no such user: a configuration error */
	PRIVDROP_FAILED		/* a set*id call failed */
};

/*
 * When the effective uid is 0 and user is not empty, become user for
 * good: its primary group as the only group (setgroups), then gid and
 * uid, real, effective and saved (setresgid, setresuid), in that order.
 * Not root, or no user: nothing changes, PRIVDROP_OK. Otherwise a reason
 * in err.
 */
enum privdrop_result	privdrop_user(const char *user, char *err,
			    size_t errsz);

/*
 * 1 when the effective uid is 0 and user names an account whose uid is 0
 * (a "drop" to it changes nothing), else 0 (also for a user that does not
 * exist: privdrop_user reports that).
 */
int			privdrop_user_is_root(const char *user);

/*
 * For root working without a user to drop to: whether the directory of
 * file is root's alone. That directory and every one above it, both as
 * written and with symbolic links resolved, must be owned by root and
 * writable by no group or other (a directory above it may be sticky, as
 * /tmp: nobody can replace root's entries there); a directory not made
 * yet is judged by its nearest existing ancestor. Anyone who could write
 * there could plant a link that root then writes through. Returns 0, or
 * -1 with the reason in err.
 */
int			privdrop_root_dir_check(const char *file, char *err,
			    size_t errsz);

#endif
