-- authgw schema, version 1. Applied in one transaction; user_version = 1.
CREATE TABLE meta (
	key	TEXT PRIMARY KEY,
	value	BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
	id		INTEGER PRIMARY KEY,
	email		TEXT NOT NULL UNIQUE COLLATE NOCASE,
	pwhash		TEXT NOT NULL,
	role		TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
	verified	INTEGER NOT NULL DEFAULT 0,
	disabled	INTEGER NOT NULL DEFAULT 0,
	created		INTEGER NOT NULL
);

-- token_hash is the SHA-256 of the cookie's token: the token is never stored.
-- extensions counts renewals by extension (one write each).
CREATE TABLE sessions (
	id		INTEGER PRIMARY KEY,
	token_hash	BLOB NOT NULL UNIQUE,
	public_id	TEXT NOT NULL UNIQUE,
	user_id		INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created		INTEGER NOT NULL,
	expires		INTEGER NOT NULL,
	last_seen	INTEGER NOT NULL,
	extensions	INTEGER NOT NULL DEFAULT 0,
	ip		TEXT NOT NULL DEFAULT '',
	user_agent	TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires);
