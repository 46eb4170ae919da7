-- Cashback (issue 10): one row per trade a cashback campaign rewarded (or would have: a budget that could not pay is
-- recorded as refused). The money is in the ledger: a pending transfer from the campaign's budget to the buyer's wallet
-- (pending_transfer_id) until it posts; voids and clawbacks are counted here so refunds take back exactly in proportion.
-- version changes with every change of the row: the refund path, the settle sweeper and the earning subscriber guard on it.
CREATE TABLE cashback_credits (
    id                  uuid     PRIMARY KEY,
    trade_no            text     NOT NULL UNIQUE,
    user_id             uuid     NOT NULL,
    campaign_id         uuid     NOT NULL,
    currency            text     NOT NULL,
    budget_account_id   uuid     NOT NULL,
    total_amount        bigint   NOT NULL,
    pay_amount          bigint   NOT NULL,
    earned              bigint   NOT NULL CHECK (earned >= 0),           -- the cashback of the whole payment
    voided              bigint   NOT NULL DEFAULT 0 CHECK (voided >= 0),  -- taken back before posting
    clawed_back         bigint   NOT NULL DEFAULT 0 CHECK (clawed_back >= 0), -- taken back from refunds after posting
    refunded_amount     bigint   NOT NULL DEFAULT 0,                      -- the trade's refunds accounted for so far
    status              smallint NOT NULL,                                -- CashbackStatus: 0 pending, 1 posted, 2 voided, 3 refused
    pending_transfer_id uuid     NULL,                                    -- the live pending transfer (or the posted one)
    version             integer  NOT NULL DEFAULT 0,
    settle_at_us        bigint   NOT NULL,
    created_at_us       bigint   NOT NULL,
    posted_at_us        bigint   NULL,
    CHECK (voided + clawed_back <= earned)
);
CREATE INDEX cashback_credits_user ON cashback_credits (user_id, created_at_us);
CREATE INDEX cashback_credits_due ON cashback_credits (settle_at_us) WHERE status = 0;
