-- The second factor (issue 16, SPEC 9). 008 and 009 are other work's; the
-- migrations are recorded by version, so the gap is fine.
-- One row per user who has begun or finished setting it up. secret is the
-- enabled secret, pending the one waiting for its first code (at most one
-- of the two is set); both are sealed with AES-256-GCM under a key derived
-- from the server secret, the user's id as associated data (doc/design.md,
-- "Second factor"). last_step is the last time step accepted: a code for
-- it or an earlier one is refused. A pending secret belongs to the user's
-- generation at its making (pending_gen) and lives 15 minutes from
-- pending_created: a stale one is replaced by the next setup page and
-- never enabled (a password change, reset or "log out everywhere" moves
-- the generation, so a secret read from a stolen session dies with it).
CREATE TABLE totp (
	user_id		INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
	secret		BLOB,
	pending		BLOB,
	pending_gen	INTEGER NOT NULL DEFAULT 0,
	pending_created	INTEGER NOT NULL DEFAULT 0,
	last_step	INTEGER NOT NULL DEFAULT 0,
	enabled		INTEGER NOT NULL DEFAULT 0,
	-- The factor's instance: a random id given at each enabling, carried
	-- by the pending-login tokens issued under it (a token of a factor
	-- since removed, or removed and enabled again, is void).
	factor		INTEGER NOT NULL DEFAULT 0
);
-- Recovery codes, stored as an HMAC of the code (a key derived from the
-- server secret, the user's id in the message); a used one is deleted.
CREATE TABLE totp_recovery (
	user_id		INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	code_hash	BLOB NOT NULL,
	PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;
-- The pending-login tokens already used (their nonce), kept until they
-- would have expired anyway.
CREATE TABLE totp_pending_used (
	nonce		BLOB PRIMARY KEY,
	expires		INTEGER NOT NULL
) WITHOUT ROWID;
-- Whether a session was made with the second factor (/check's X-Auth-MFA
-- and ?mfa=1).
ALTER TABLE sessions ADD COLUMN mfa INTEGER NOT NULL DEFAULT 0;
