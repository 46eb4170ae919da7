-- Domain events: one durable outbox, written in the same transaction as the change it announces, kept for
-- Qianbao:Events:RetentionDays and read by subscribers with their own checkpoints.
--
-- Delivery order is (tx_id, seq), not seq alone. seq comes from an identity and is assigned at insert, so two
-- concurrent transactions can commit in the other order: a reader of "seq > checkpoint" could pass seq 11 while
-- seq 10 is still uncommitted and never see it. tx_id is the writing transaction's top-level id (xid8, 64-bit,
-- never wraps; stored as bigint), and readers only take rows with tx_id below the xmin of their own snapshot:
-- every transaction below xmin has finished, so no row can later appear at a position a reader has passed. This
-- keeps writers free of any shared lock (a single-row counter would serialize every money batch's commit); the
-- cost is that delivery waits for the oldest write transaction running at the time, which is short here.
CREATE TABLE domain_events (
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    tx_id          bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    id             uuid   NOT NULL,
    type           text   NOT NULL,
    stream         text   NOT NULL,
    payload        jsonb  NOT NULL,
    occurred_at_us bigint NOT NULL,
    PRIMARY KEY (tx_id, seq)
);
-- The client-generated id makes appending the same event twice a no-op (ON CONFLICT DO NOTHING).
CREATE UNIQUE INDEX domain_events_id ON domain_events (id);

-- One row per subscriber: its checkpoint (the position of the last event it handled) and the lease that lets
-- one server process at a time run it.
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
