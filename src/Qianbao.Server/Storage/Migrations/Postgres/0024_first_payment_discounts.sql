-- First-payment discounts (issue 10). Marketing keeps which campaign took what off a user's first payment: one row per user
-- at most (the primary key), written with the payment's postings; refunds split the budget's share on it.
CREATE TABLE first_payment_redemptions (
    user_id            uuid     NOT NULL PRIMARY KEY,
    trade_no           text     NOT NULL UNIQUE,
    campaign_id        uuid     NOT NULL,
    discount_amount    bigint   NOT NULL CHECK (discount_amount > 0),
    budget_account_id  uuid     NOT NULL,
    merchant_funded    smallint NOT NULL,                -- 1: the trade's merchant funded the campaign (gateway receipt_amount)
    created_at_us      bigint   NOT NULL
);

-- "Has this buyer ever paid?": the first-payment guard asks it in every discounted payment's batch.
CREATE INDEX trades_buyer_paid ON trades (buyer_id) WHERE paid_at_us IS NOT NULL;

-- Points redeemed at payment (issue 10): how many, and what they took off (the platform's points budget paid it).
ALTER TABLE trades ADD COLUMN points_used bigint NOT NULL DEFAULT 0;
ALTER TABLE trades ADD COLUMN points_amount bigint NOT NULL DEFAULT 0;
