ALTER TABLE users DROP COLUMN login_pending_until;
ALTER TABLE users DROP COLUMN login_attempts_pending;
DELETE FROM sessions WHERE NOT EXISTS (
    SELECT 1 FROM users u WHERE u.tenant_id = sessions.tenant_id AND u.id = sessions.user_id);
CREATE TABLE sessions_old (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    user_id      TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    ip           TEXT,
    user_agent   TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO sessions_old SELECT tenant_id, id, user_id, created_at, last_used_at, expires_at, revoked_at, ip, user_agent FROM sessions;
CREATE TABLE refresh_tokens_old (
    tenant_id  TEXT   NOT NULL,
    token_hash BLOB   NOT NULL,
    session_id TEXT   NOT NULL,
    issued_at  BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions_old (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO refresh_tokens_old SELECT tenant_id, token_hash, session_id, issued_at, used_at FROM refresh_tokens;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
ALTER TABLE sessions_old RENAME TO sessions;
ALTER TABLE refresh_tokens_old RENAME TO refresh_tokens;
CREATE INDEX sessions_user_idx ON sessions (tenant_id, user_id);
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (tenant_id, session_id);
