-- A registration's password travels with its verification token and is
-- applied when that link is used: whoever owns the mailbox decides which
-- registration of an address stands (no account pre-takeover).
ALTER TABLE verify_tokens ADD COLUMN pwhash TEXT NOT NULL DEFAULT '';
