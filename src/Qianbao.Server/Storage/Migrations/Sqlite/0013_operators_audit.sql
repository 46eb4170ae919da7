-- Operator accounts (invited by an owner, password + TOTP) and the hash-chained audit log.
CREATE TABLE operators (
    id                        text    PRIMARY KEY,
    email                     text    NOT NULL UNIQUE,   -- lower-case
    name                      text    NOT NULL,
    role                      text    NOT NULL,          -- OperatorRole, snake_case
    password_hash             text,                      -- set when the invitation is accepted
    totp_secret               text,                      -- Base32, set with the password
    totp_last_step            integer,                   -- the last accepted step: a code is accepted once
    invitation_hash           text    UNIQUE,            -- SHA-256 of the one-time invitation token; NULL once accepted
    invitation_expires_at_us  integer,
    created_by                text    NOT NULL,          -- operator id or "bootstrap"
    created_at_us             integer NOT NULL,
    activated_at_us           integer,
    disabled_at_us            integer
);
CREATE INDEX operators_disabled ON operators (disabled_at_us) WHERE disabled_at_us IS NOT NULL;

-- Append-only: seq has no gaps (SQLite has one writer; each entry takes the last seq + 1 in its transaction), and
-- hash = SHA-256(prev_hash, canonical entry); see Modules/Operators/Audit/AuditLog.cs.
CREATE TABLE audit_log (
    seq             integer PRIMARY KEY,
    at_us           integer NOT NULL,
    actor           text    NOT NULL,
    role            text    NOT NULL,
    action          text    NOT NULL,
    target          text,
    status          integer,
    detail          text,
    before_json     text,
    after_json      text,
    client_address  text,
    prev_hash       text    NOT NULL,
    hash            text    NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_target ON audit_log (target, seq);
CREATE INDEX audit_log_at ON audit_log (at_us);

-- A second line behind the hash chain (whoever can write the file can drop these; the chain still tells).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
