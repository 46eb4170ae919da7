-- (SQLite dialect of the PostgreSQL migration of the same number)
-- Loyalty points (Modules/Points). The points themselves are ledger money in the unit PTS (a user's points account,
-- the platform's issuance and expired-points accounts); these tables say where each point came from and when it expires.
-- Every row changes in the ledger batch transaction of the transfer it explains (or, when no point moves, in the
-- subscriber's own transaction), so Σ points_lots.remaining of a user = the balance of the user's points account.

-- Per user: the points a refund should have taken back but could not (the balance was short); later earnings pay it off.
CREATE TABLE points_users (
    user_id        text    PRIMARY KEY,
    shortfall      bigint  NOT NULL DEFAULT 0 CHECK (shortfall >= 0)
);

-- Per paid trade that earned: what it earned (gross, before a shortfall was withheld) and what refunds took back so far.
CREATE TABLE points_trades (
    trade_no       text    PRIMARY KEY,
    user_id        text    NOT NULL,
    total_minor    bigint  NOT NULL,                 -- the trade's paid amount the earning was computed on
    earned         bigint  NOT NULL CHECK (earned >= 0),
    clawed_back    bigint  NOT NULL DEFAULT 0 CHECK (clawed_back >= 0 AND clawed_back <= earned),
    refunded_minor bigint  NOT NULL DEFAULT 0,
    earned_at_us   bigint  NOT NULL
);

-- Earning lots, consumed first-in-first-out (by expiry) by clawbacks and redemptions; what remains expires.
CREATE TABLE points_lots (
    id             text    PRIMARY KEY,              -- the earn transfer's id
    user_id        text    NOT NULL,
    trade_no       text    NOT NULL,
    amount         bigint  NOT NULL CHECK (amount > 0),
    remaining      bigint  NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    expired        bigint  NOT NULL DEFAULT 0 CHECK (expired >= 0),
    earned_month   text    NOT NULL,                 -- yyyy-MM, China time
    earned_at_us   bigint  NOT NULL,
    expires_at_us  bigint  NOT NULL,                 -- 00:00 China on the 1st of the month after the last month it is good for
    expired_at_us  bigint  NULL
);
CREATE INDEX points_lots_user ON points_lots (user_id, expires_at_us, earned_at_us);
CREATE INDEX points_lots_due ON points_lots (expires_at_us) WHERE remaining > 0;

-- The history GET /v1/points shows; the id is the idempotency key of the change it records (a redelivered event adds nothing).
CREATE TABLE points_items (
    id             text     PRIMARY KEY,
    user_id        text     NOT NULL,
    kind           smallint NOT NULL,                -- PointsItemKind: 0 earn, 1 clawback, 2 expiry
    amount         bigint   NOT NULL CHECK (amount >= 0), -- points moved in the ledger
    withheld       bigint   NOT NULL DEFAULT 0,      -- earn: kept back against an earlier shortfall
    shortfall      bigint   NOT NULL DEFAULT 0,      -- clawback: what could not be taken (owed from later earnings)
    trade_no       text     NULL,
    lot_id         text     NULL,
    at_us          bigint   NOT NULL
);
CREATE INDEX points_items_user ON points_items (user_id, at_us);
