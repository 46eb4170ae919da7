-- Refresh tokens are looked up by their hash: the current one to rotate it, the one it replaced to catch reuse.
CREATE UNIQUE INDEX sessions_refresh ON sessions (refresh_hash);
CREATE INDEX sessions_previous ON sessions (previous_hash) WHERE previous_hash IS NOT NULL;
