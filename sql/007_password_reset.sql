-- Password reset links (issue 13): stored hashed (SHA-256 of the token),
-- single use (used = time of use). gen is the user's generation when the
-- link was made: a new password, disabling or "log out everywhere" since
-- then moves it, and the link no longer works. The foreign key is checked
-- at commit: /password/forgot runs the very same inserts for an address
-- without an account (user 0) and rolls them back, so that both cost alike.
CREATE TABLE reset_tokens (
	id		INTEGER PRIMARY KEY,
	token_hash	BLOB NOT NULL UNIQUE,
	user_id		INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE
			    DEFERRABLE INITIALLY DEFERRED,
	gen		INTEGER NOT NULL,
	created		INTEGER NOT NULL,
	expires		INTEGER NOT NULL,
	used		INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX reset_tokens_user ON reset_tokens(user_id);
CREATE INDEX reset_tokens_expires ON reset_tokens(expires);

-- Where each user signed in from, for notify_login: the client address
-- and the SHA-256 of the User-Agent header, with the last time seen.
-- Maintenance deletes rows older than 90 days except each user's newest,
-- so "never seen before" and "not seen for 90 days" stay apart.
CREATE TABLE login_seen (
	user_id		INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	addr		TEXT NOT NULL,
	ua_hash		BLOB NOT NULL,
	last_seen	INTEGER NOT NULL,
	PRIMARY KEY (user_id, addr, ua_hash)
) WITHOUT ROWID;
CREATE INDEX login_seen_last ON login_seen(last_seen);
