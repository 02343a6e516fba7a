-- API tokens (issue 13, SPEC 5): "agw_" + base64url of 32 random bytes,
-- handed out once and stored only as the SHA-256 of that whole text (so a
-- token's hash never equals a session cookie's, the SHA-256 of 32 raw
-- bytes). last_used is written at most once per half session_lifetime;
-- expires 0 means never. A reset of the user's password (by a link or the
-- command line), a password set by a verification link and deletion end
-- them; disabling suspends them (as it does sessions); a password change
-- by the user and "log out everywhere" keep them (they are for programs).
CREATE TABLE api_tokens (
	-- AUTOINCREMENT: an id, once revoked, never names a later token
	-- (a revoke sent twice, or from an old list, must not end another).
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id		INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	token_hash	BLOB NOT NULL UNIQUE,
	name		TEXT NOT NULL,
	created		INTEGER NOT NULL,
	last_used	INTEGER NOT NULL DEFAULT 0,
	expires		INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
