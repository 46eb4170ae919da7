-- Open platform: merchants, their gateway apps, trades, refunds, profit-sharing, payment codes and the
-- notification outbox. Money is bigint fen; times bigint Unix microseconds; flags are integers 0/1.
CREATE TABLE merchants (
    id             uuid PRIMARY KEY,
    name           text    NOT NULL,
    licence_no     text    NOT NULL UNIQUE,
    legal_person   text    NOT NULL,
    contact_phone  text    NOT NULL,
    fee_bps        integer NOT NULL CHECK (fee_bps BETWEEN 0 AND 10000),
    status         text    NOT NULL,
    created_at_us  bigint  NOT NULL,
    verified_at_us bigint  NULL
);

CREATE TABLE merchant_apps (
    app_id         text PRIMARY KEY,
    merchant_id    uuid   NOT NULL REFERENCES merchants (id),
    public_key_pem text   NOT NULL,
    notify_url     text   NULL,
    status         text   NOT NULL,
    created_at_us  bigint NOT NULL
);
CREATE INDEX merchant_apps_merchant ON merchant_apps (merchant_id);

CREATE TABLE trades (
    trade_no           text    PRIMARY KEY,
    app_id             text    NOT NULL,
    merchant_id        uuid    NOT NULL,
    out_trade_no       text    NOT NULL,
    kind               text    NOT NULL,
    status             text    NOT NULL,
    total_amount       bigint  NOT NULL CHECK (total_amount > 0),
    currency           text    NOT NULL,
    subject            text    NOT NULL,
    body               text    NULL,
    buyer_id           uuid    NULL,
    fee_amount         bigint  NOT NULL DEFAULT 0,
    refunded_amount    bigint  NOT NULL DEFAULT 0,
    royalty_freeze     integer NOT NULL DEFAULT 0,
    freeze_hold_id     uuid    NULL,
    settled            integer NOT NULL DEFAULT 0,
    notify_url         text    NULL,
    qr_code            text    NULL UNIQUE,
    request_hash       text    NOT NULL,
    expires_at_us      bigint  NOT NULL,
    created_at_us      bigint  NOT NULL,
    paid_at_us         bigint  NULL,
    closed_at_us       bigint  NULL,
    last_refund_at_us  bigint  NULL,
    UNIQUE (app_id, out_trade_no)
);
CREATE INDEX trades_open_expiry ON trades (expires_at_us) WHERE status = 'WAIT_BUYER_PAY';
CREATE INDEX trades_merchant_paid ON trades (merchant_id, paid_at_us);

CREATE TABLE trade_refunds (
    trade_no       text   NOT NULL,
    out_request_no text   NOT NULL,
    refund_amount  bigint NOT NULL CHECK (refund_amount > 0),
    transfer_id    uuid   NOT NULL,
    created_at_us  bigint NOT NULL,
    PRIMARY KEY (trade_no, out_request_no)
);

CREATE TABLE royalty_relations (
    app_id               text   NOT NULL,
    receiver_merchant_id uuid   NOT NULL,
    name                 text   NULL,
    memo                 text   NULL,
    created_at_us        bigint NOT NULL,
    PRIMARY KEY (app_id, receiver_merchant_id)
);

CREATE TABLE trade_settlements (
    trade_no       text   NOT NULL,
    out_request_no text   NOT NULL,
    settle_no      text   NOT NULL,
    created_at_us  bigint NOT NULL,
    PRIMARY KEY (trade_no, out_request_no)
);

CREATE TABLE payment_codes (
    code          text   PRIMARY KEY,
    user_id       uuid   NOT NULL,
    expires_at_us bigint NOT NULL,
    used_at_us    bigint NULL,
    used_for      text   NULL,
    created_at_us bigint NOT NULL
);

CREATE TABLE notify_deliveries (
    id                 uuid    PRIMARY KEY,
    notify_id          text    NOT NULL,
    trade_no           text    NOT NULL,
    event              text    NOT NULL,
    url                text    NOT NULL,
    fields_json        text    NOT NULL,
    status             text    NOT NULL,
    attempts           integer NOT NULL DEFAULT 0,
    next_attempt_at_us bigint  NOT NULL,
    last_error         text    NULL,
    created_at_us      bigint  NOT NULL,
    delivered_at_us    bigint  NULL
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (next_attempt_at_us) WHERE status = 'pending';
CREATE INDEX notify_deliveries_trade ON notify_deliveries (trade_no);
