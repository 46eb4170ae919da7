-- Issue 11 (n4): merchant follows (服务窗), the recommendations' own rollups of payments, and an index for the
-- expiring-coupon reminders.

-- Who follows which merchant (Modules/Notifications): only a follower receives the merchant's service messages. Paying
-- a merchant does not follow it.
CREATE TABLE merchant_follows (
    user_id         text    NOT NULL,
    merchant_id     text    NOT NULL,
    followed_at_us  bigint NOT NULL,
    PRIMARY KEY (user_id, merchant_id)
);
CREATE INDEX merchant_follows_merchant ON merchant_follows (merchant_id, user_id);

-- Recommendations (Modules/Recommendations), fed only by its trade.paid subscriber, never from Acquiring's tables.
-- reco_seen makes a redelivered event count once.
CREATE TABLE reco_seen (
    event_id  text PRIMARY KEY
);
-- Per person and merchant: how often they paid there.
CREATE TABLE reco_user_merchants (
    user_id          text    NOT NULL,
    merchant_id      text    NOT NULL,
    payments         bigint NOT NULL,
    last_paid_at_us  bigint NOT NULL,
    PRIMARY KEY (user_id, merchant_id)
);
-- Per merchant: how many people paid there (popularity).
CREATE TABLE reco_merchants (
    merchant_id  text    PRIMARY KEY,
    payers       bigint NOT NULL
);
-- Item-to-item co-occurrence: how many people paid at both a and b (both directions are stored).
CREATE TABLE reco_pairs (
    merchant_a  text    NOT NULL,
    merchant_b  text    NOT NULL,
    people      bigint NOT NULL,
    PRIMARY KEY (merchant_a, merchant_b)
);

-- The reminders' scan: available coupons by expiry (Marketing's table; Marketing's ExpiringCoupons reads it).
CREATE INDEX coupons_expiring ON coupons (expires_at_us) WHERE status = 0;
