-- Security fixes of issue 11.
--
-- 1. A session row carries its revocation, so it must outlive its user: deleting a user no longer
--    cascades to the sessions (they stay revoked until they expire, and a restarted or new replica
--    still refuses the deleted user's access tokens). Sessions now reference their tenant instead.
--    SQLite cannot drop a foreign key, so sessions and refresh_tokens are rebuilt; the rename keeps
--    refresh_tokens' reference pointing at the new sessions table.
CREATE TABLE sessions_new (
    tenant_id    TEXT   NOT NULL REFERENCES tenants (id),
    id           TEXT   NOT NULL,
    user_id      TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    ip           TEXT,
    user_agent   TEXT,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO sessions_new SELECT tenant_id, id, user_id, created_at, last_used_at, expires_at, revoked_at, ip, user_agent FROM sessions;
CREATE TABLE refresh_tokens_new (
    tenant_id  TEXT   NOT NULL,
    token_hash BLOB   NOT NULL,
    session_id TEXT   NOT NULL,
    issued_at  BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions_new (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO refresh_tokens_new SELECT tenant_id, token_hash, session_id, issued_at, used_at FROM refresh_tokens;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
ALTER TABLE refresh_tokens_new RENAME TO refresh_tokens;
CREATE INDEX sessions_user_idx ON sessions (tenant_id, user_id);
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (tenant_id, session_id);

-- 2. Password checks in flight per account, so the lockout threshold holds under any concurrency:
--    a check is admitted only while settled failures + checks in flight stay below the threshold.
--    The in-flight count expires (login_pending_until) so a crashed replica cannot leave it stuck.
ALTER TABLE users ADD COLUMN login_attempts_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN login_pending_until BIGINT;
