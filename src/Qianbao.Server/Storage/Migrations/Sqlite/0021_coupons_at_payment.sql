-- Coupons applied at payment (issue 10). The trade keeps what coupons took off (Acquiring's own column: refunds split on
-- it and the gateway reports buyer_pay_amount from it); Marketing keeps which coupon paid what for which trade.
ALTER TABLE trades ADD COLUMN discount_amount bigint NOT NULL DEFAULT 0;

-- The trade a used coupon was spent on: a refund returns the coupon only to the trade that used it.
ALTER TABLE coupons ADD COLUMN used_trade_no text NULL;

CREATE TABLE coupon_redemptions (
    trade_no           text     NOT NULL,
    coupon_id          text     NOT NULL,
    campaign_id        text     NOT NULL,
    user_id            text     NOT NULL,
    discount_amount    bigint   NOT NULL CHECK (discount_amount > 0),
    budget_account_id  text     NOT NULL,
    merchant_funded    smallint NOT NULL,                -- 1: the trade's merchant funded the campaign (gateway receipt_amount)
    return_on_refund   smallint NOT NULL,
    created_at_us      bigint   NOT NULL,
    PRIMARY KEY (trade_no, coupon_id)
);
CREATE INDEX coupon_redemptions_coupon ON coupon_redemptions (coupon_id);
