-- The second factor (as sql/010_totp.sql; issue 16, SPEC 9). The sealed
-- secrets, recovery-code hashes and nonces are BYTEA, times and steps
-- BIGINT. One row per user who has begun or finished setting it up:
-- secret is the enabled secret, pending the one waiting for its first
-- code (at most one of the two is set); last_step is the last time step
-- accepted; pending_gen and pending_created make a pending secret stale
-- (another generation of the user, or 15 minutes old).
CREATE TABLE totp (
	user_id		BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
	secret		BYTEA,
	pending		BYTEA,
	pending_gen	BIGINT NOT NULL DEFAULT 0,
	pending_created	BIGINT NOT NULL DEFAULT 0,
	last_step	BIGINT NOT NULL DEFAULT 0,
	enabled		INTEGER NOT NULL DEFAULT 0,
	-- The factor's instance (a random id given at each enabling; pending
	-- logins carry it).
	factor		BIGINT NOT NULL DEFAULT 0
);
-- Recovery codes, stored as an HMAC of the code; a used one is deleted.
CREATE TABLE totp_recovery (
	user_id		BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	code_hash	BYTEA NOT NULL,
	PRIMARY KEY (user_id, code_hash)
);
-- The pending-login tokens already used (their nonce: the primary key
-- makes a second use a unique violation), kept until they would have
-- expired anyway.
CREATE TABLE totp_pending_used (
	nonce		BYTEA PRIMARY KEY,
	expires		BIGINT NOT NULL
);
-- Whether a session was made with the second factor (/check's X-Auth-MFA
-- and ?mfa=1). A constant default: no table rewrite.
ALTER TABLE sessions ADD COLUMN mfa INTEGER NOT NULL DEFAULT 0;
