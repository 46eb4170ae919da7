-- (SQLite dialect of the PostgreSQL migration of the same number) Court-ordered amount holds (Modules/Holds) and user complaints (Modules/Complaints).
-- An amount hold is a pending ledger transfer from a wallet to the judicial-hold account; this row is what the
-- operator said about it. Its status changes in the ledger batch transaction that voids or posts the hold.
CREATE TABLE amount_holds (
    id              text     PRIMARY KEY,            -- the pending transfer's id
    user_id         text     NOT NULL,
    amount          bigint   NOT NULL CHECK (amount > 0),
    currency        text     NOT NULL,
    reason          text     NOT NULL,
    reference       text     NOT NULL,               -- the court order's number
    status          smallint NOT NULL,               -- AmountHoldStatus: 0 held, 1 released, 2 deducted
    payee           text     NULL,                   -- set on deduction: court_remittance or channel_clearing
    created_by      text     NULL,                   -- operator id; null for the bootstrap key
    created_at_us   bigint   NOT NULL,
    resolved_by     text     NULL,
    resolved_at_us  bigint   NULL
);
CREATE INDEX amount_holds_user ON amount_holds (user_id, created_at_us);

CREATE TABLE complaints (
    id              text     PRIMARY KEY,
    user_id         text     NOT NULL,
    trade_no        text     NULL,
    transfer_id     text     NULL,
    category        smallint NOT NULL,               -- ComplaintCategory
    text            text     NOT NULL,
    status          smallint NOT NULL,               -- ComplaintStatus: 0 open, 1 in_progress, 2 refunded, 3 rejected
    refund_amount   bigint   NULL,
    currency        text     NULL,
    resolution_note text     NULL,
    resolved_by     text     NULL,
    created_at_us   bigint   NOT NULL,
    updated_at_us   bigint   NOT NULL,
    resolved_at_us  bigint   NULL
);
CREATE INDEX complaints_user ON complaints (user_id, created_at_us);
CREATE INDEX complaints_status ON complaints (status, created_at_us);

CREATE TABLE complaint_replies (
    id              text     PRIMARY KEY,
    complaint_id    text     NOT NULL REFERENCES complaints (id),
    operator_id     text     NULL,
    text            text     NOT NULL,
    created_at_us   bigint   NOT NULL
);
CREATE INDEX complaint_replies_complaint ON complaint_replies (complaint_id, created_at_us);
