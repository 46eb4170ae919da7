-- Operator accounts (invited by an owner, password + TOTP) and the hash-chained audit log.
CREATE TABLE operators (
    id                        uuid   PRIMARY KEY,
    email                     text   NOT NULL UNIQUE,   -- lower-case
    name                      text   NOT NULL,
    role                      text   NOT NULL,          -- OperatorRole, snake_case
    password_hash             text,                     -- set when the invitation is accepted
    totp_secret               text,                     -- Base32, set with the password
    totp_last_step            bigint,                   -- the last accepted step: a code is accepted once
    invitation_hash           text   UNIQUE,            -- SHA-256 of the one-time invitation token; NULL once accepted
    invitation_expires_at_us  bigint,
    created_by                text   NOT NULL,          -- operator id or "bootstrap"
    created_at_us             bigint NOT NULL,
    activated_at_us           bigint,
    disabled_at_us            bigint
);
CREATE INDEX operators_disabled ON operators (disabled_at_us) WHERE disabled_at_us IS NOT NULL;

-- Append-only: seq has no gaps (each entry takes the last seq + 1 under an advisory lock), and
-- hash = SHA-256(prev_hash, canonical entry); see Modules/Operators/Audit/AuditLog.cs.
CREATE TABLE audit_log (
    seq             bigint  PRIMARY KEY,
    at_us           bigint  NOT NULL,
    actor           text    NOT NULL,   -- operator id, "bootstrap", or the user id of a security event
    role            text    NOT NULL,   -- owner, risk, support, finance, or user
    action          text    NOT NULL,   -- "POST /admin/v1/users/{id}/freeze", or "security_event:<kind>"
    target          text,
    status          integer,            -- the HTTP status answered, for operator actions
    detail          text,               -- JSON: route values, query, a security event's detail
    before_json     text,
    after_json      text,
    client_address  text,
    prev_hash       text    NOT NULL,
    hash            text    NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_target ON audit_log (target, seq);
CREATE INDEX audit_log_at ON audit_log (at_us);

-- A second line behind the hash chain: the table refuses to be changed in place.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
