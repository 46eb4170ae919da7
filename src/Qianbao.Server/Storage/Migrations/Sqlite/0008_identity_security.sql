-- Identity and account security (SQLite dialect of the PostgreSQL migration of the same number): phone verifications, devices and sessions, payment PIN, TOTP, real-name
-- identity and tier, login lockout, security events, bank cards, and fixed-window rate counters.
ALTER TABLE users ADD COLUMN locale                 text     NOT NULL DEFAULT 'zh-CN';
ALTER TABLE users ADD COLUMN tier                   smallint NOT NULL DEFAULT 0;   -- UserTier: 0 unverified, 1 class_i, 2 class_ii, 3 class_iii
ALTER TABLE users ADD COLUMN pin_hash               text;                          -- keyed hash, see PaymentPins
ALTER TABLE users ADD COLUMN pin_failures           integer  NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN pin_locked_until_us    bigint;
ALTER TABLE users ADD COLUMN totp_secret            text;
ALTER TABLE users ADD COLUMN totp_enabled           smallint NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step         bigint;                        -- the last accepted step: a code is accepted once
ALTER TABLE users ADD COLUMN login_failures         integer  NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN login_locked_until_us  bigint;
ALTER TABLE users ADD COLUMN identity_name          text;
ALTER TABLE users ADD COLUMN identity_number_hash   text;                          -- keyed hash: one identity, one account
ALTER TABLE users ADD COLUMN identity_number_masked text;
ALTER TABLE users ADD COLUMN birth_date             text;                          -- YYYYMMDD of the verified identity
CREATE UNIQUE INDEX users_identity_number ON users (identity_number_hash) WHERE identity_number_hash IS NOT NULL;

CREATE TABLE verifications (
    id              text     PRIMARY KEY,
    phone           text     NOT NULL,
    purpose         smallint NOT NULL,   -- VerificationPurpose
    user_id         text,                -- set for purposes that need a bearer token
    code_hash       text     NOT NULL,
    attempts        integer  NOT NULL DEFAULT 0,
    created_at_us   bigint   NOT NULL,
    expires_at_us   bigint   NOT NULL,
    consumed_at_us  bigint
);
CREATE INDEX verifications_phone ON verifications (phone, created_at_us);

CREATE TABLE devices (
    user_id           text   NOT NULL,
    device_id         text   NOT NULL,
    first_seen_at_us  bigint NOT NULL,
    PRIMARY KEY (user_id, device_id)
);

CREATE TABLE sessions (
    id               text   PRIMARY KEY,
    user_id          text   NOT NULL,
    device_id        text   NOT NULL,
    refresh_hash     text   NOT NULL,   -- SHA-256 of the current refresh token
    previous_hash    text,              -- of the one it replaced: presenting it again is reuse
    created_at_us    bigint NOT NULL,
    last_seen_at_us  bigint NOT NULL,
    revoked_at_us    bigint,
    revoked_reason   text
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_revoked ON sessions (revoked_at_us) WHERE revoked_at_us IS NOT NULL;

CREATE TABLE security_events (
    id              text     PRIMARY KEY,
    user_id         text     NOT NULL,
    kind            text     NOT NULL,   -- SecurityEventKind, snake_case
    device_id       text,
    client_address  text,
    detail          text,
    created_at_us   bigint   NOT NULL
);
CREATE INDEX security_events_user ON security_events (user_id, created_at_us);

CREATE TABLE bank_cards (
    id             text   PRIMARY KEY,
    user_id        text   NOT NULL,
    card_hash      text   NOT NULL,      -- keyed hash of the number
    last4          text   NOT NULL,
    created_at_us  bigint NOT NULL,
    UNIQUE (user_id, card_hash)
);

-- Fixed-window counters shared by every process (send limits, lookups, logins per address).
CREATE TABLE rate_counters (
    key              text    NOT NULL,
    window_start_us  bigint  NOT NULL,
    count            integer NOT NULL,
    PRIMARY KEY (key, window_start_us)
);
