-- Email verification tokens (stored hashed, single use) and the durable
-- mail outbox, sent by the master through mail_command.
CREATE TABLE verify_tokens (
	id		INTEGER PRIMARY KEY,
	token_hash	BLOB NOT NULL UNIQUE,
	user_id		INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created		INTEGER NOT NULL,
	expires		INTEGER NOT NULL,
	used		INTEGER NOT NULL DEFAULT 0	-- time of use, 0 = unused
);
CREATE INDEX verify_tokens_user ON verify_tokens(user_id);

-- message is the whole RFC 5322 message; it is emptied once sent, so the
-- link it carries does not outlive the delivery.
CREATE TABLE outbox (
	id		INTEGER PRIMARY KEY,
	created		INTEGER NOT NULL,
	recipient	TEXT NOT NULL,
	message		TEXT NOT NULL,
	attempts	INTEGER NOT NULL DEFAULT 0,
	next_try	INTEGER NOT NULL,
	sent		INTEGER NOT NULL DEFAULT 0,	-- time sent, 0 = pending
	last_error	TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox(sent, next_try);
