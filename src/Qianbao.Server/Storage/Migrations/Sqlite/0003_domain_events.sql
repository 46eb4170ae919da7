-- Domain events (SQLite dialect of the PostgreSQL migration of the same number). SQLite has one writer at a
-- time and assigns seq under the write lock, so seq order is commit order and tx_id is always 0; the column
-- exists so both engines read with the same (tx_id, seq) position. AUTOINCREMENT: a purge must never let a
-- seq be reused below a subscriber's checkpoint.
CREATE TABLE domain_events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    tx_id          bigint NOT NULL DEFAULT 0,
    id             text   NOT NULL UNIQUE,
    type           text   NOT NULL,
    stream         text   NOT NULL,
    payload        text   NOT NULL,
    occurred_at_us bigint NOT NULL
);
-- Readers and the purge walk (tx_id, seq), the same statements as on PostgreSQL.
CREATE INDEX domain_events_position ON domain_events (tx_id, seq);

CREATE TABLE event_subscriptions (
    name            text   PRIMARY KEY,
    tx_id           bigint NOT NULL DEFAULT 0,
    seq             bigint NOT NULL DEFAULT 0,
    lease_owner     text   NULL,
    lease_until_us  bigint NOT NULL DEFAULT 0,
    failures        integer NOT NULL DEFAULT 0,
    last_error      text   NULL,
    handled_count   bigint NOT NULL DEFAULT 0,
    created_at_us   bigint NOT NULL,
    updated_at_us   bigint NOT NULL
);
