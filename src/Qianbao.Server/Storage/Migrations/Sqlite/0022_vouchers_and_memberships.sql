-- (SQLite dialect of the PostgreSQL migration of the same number) Merchant vouchers through the gateway (Modules/Marketing) and member cards (Modules/Memberships).
-- A voucher template is a merchant-funded coupon campaign (its money is the campaign's budget account); this row marks
-- it as the merchant's gateway template and holds what the campaign does not: the out_biz_no it was created under and
-- the end of its publish window (sends after it are refused; coupons stay usable until the campaign ends).
CREATE TABLE voucher_templates (
    campaign_id       text   PRIMARY KEY,
    merchant_id       text   NOT NULL,
    out_biz_no        text   NOT NULL,
    publish_end_at_us bigint NOT NULL,
    description       text   NOT NULL,
    created_at_us     bigint NOT NULL,
    UNIQUE (merchant_id, out_biz_no)
);

-- alipay.marketing.voucher.send is idempotent per (template_id, out_biz_no): the first send names the user for good.
CREATE TABLE voucher_sends (
    campaign_id   text   NOT NULL,
    out_biz_no    text   NOT NULL,
    user_id       text   NOT NULL,
    created_at_us bigint NOT NULL,
    PRIMARY KEY (campaign_id, out_biz_no)
);

-- A merchant's membership programme (alipay.marketing.card.template.create); levels as JSON (MembershipLevel[]).
CREATE TABLE membership_templates (
    id            text   PRIMARY KEY,
    merchant_id   text   NOT NULL,
    request_id    text   NOT NULL,
    card_type     text   NOT NULL,
    name          text   NOT NULL,
    levels        text   NOT NULL,
    created_at_us bigint NOT NULL,
    UNIQUE (merchant_id, request_id)
);
CREATE INDEX membership_templates_created ON membership_templates (created_at_us);

-- One card per user and programme, opened by the merchant (card.open) or the user (POST /v1/memberships).
CREATE TABLE membership_cards (
    biz_card_no   text   PRIMARY KEY,
    template_id   text   NOT NULL,
    merchant_id   text   NOT NULL,
    user_id       text   NOT NULL,
    out_serial_no text   NULL,
    opened_at_us  bigint NOT NULL,
    UNIQUE (template_id, user_id)
);
CREATE INDEX membership_cards_user ON membership_cards (user_id);

-- A user's spend at a merchant, one row per TradePaid (+) or TradeRefunded (−) event: the event id keeps it idempotent.
CREATE TABLE membership_spend (
    event_id    text   PRIMARY KEY,
    trade_no    text   NOT NULL,
    merchant_id text   NOT NULL,
    user_id     text   NOT NULL,
    amount      bigint NOT NULL,
    currency    text   NOT NULL,
    at_us       bigint NOT NULL
);
CREATE INDEX membership_spend_user ON membership_spend (merchant_id, user_id, at_us);
