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

#endif
