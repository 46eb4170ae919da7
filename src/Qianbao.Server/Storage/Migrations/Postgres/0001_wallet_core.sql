-- Wallet core: ledger accounts and transfers, users, idempotency records, settings.
-- Money columns are bigint minor units; times are bigint Unix microseconds (UTC).
CREATE TABLE accounts (
    id              uuid PRIMARY KEY,
    currency        text     NOT NULL,
    code            integer  NOT NULL,
    flags           integer  NOT NULL,
    debits_posted   bigint   NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_posted  bigint   NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    debits_pending  bigint   NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    credits_pending bigint   NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    owner_id        uuid     NULL,
    created_at_us   bigint   NOT NULL
);
CREATE INDEX accounts_owner ON accounts (owner_id) WHERE owner_id IS NOT NULL;

CREATE TABLE transfers (
    -- Commit order, for history cursors; only ever read through the (account, seq) indexes below.
    seq               bigint GENERATED ALWAYS AS IDENTITY,
    id                uuid     PRIMARY KEY,
    debit_account_id  uuid     NOT NULL,
    credit_account_id uuid     NOT NULL,
    amount            bigint   NOT NULL CHECK (amount > 0),
    currency          text     NOT NULL,
    code              integer  NOT NULL,
    flags             integer  NOT NULL,
    pending_id        uuid     NULL,
    timeout_seconds   bigint   NOT NULL,
    reference         text     NULL,
    timestamp_us      bigint   NOT NULL,
    state             smallint NOT NULL,
    expires_at_us     bigint   NOT NULL
);
CREATE INDEX transfers_debit ON transfers (debit_account_id, seq);
CREATE INDEX transfers_credit ON transfers (credit_account_id, seq);
-- Live holds with a deadline, for the expiry sweeper and channel reconciliation.
CREATE INDEX transfers_live_pending ON transfers (expires_at_us) WHERE state = 1;

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    phone         text   NOT NULL UNIQUE,
    name          text   NOT NULL,
    password_hash text   NOT NULL,
    created_at_us bigint NOT NULL
);

CREATE TABLE idempotency_keys (
    scope         text     NOT NULL,
    key           text     NOT NULL,
    request_hash  text     NOT NULL,
    status_code   integer  NOT NULL,
    body          text     NOT NULL,
    created_at_us bigint   NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at_us);

CREATE TABLE settings (
    name  text PRIMARY KEY,
    value text NOT NULL
);
