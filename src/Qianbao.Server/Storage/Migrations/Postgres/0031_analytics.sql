-- Analytics rollups (issue 12), kept by the analytics subscriber from the domain events. Every row is a sum the events built;
-- analytics_seen holds the ids of the events applied, written in the same transaction as their sums, so a redelivered event
-- adds nothing twice. Hours are whole hours since the Unix epoch (China time has no daylight saving, so China hours are UTC
-- hours); days are China-time days since 1970-01-01. No personal data: payers are ids, demographics are bucket numbers.
CREATE TABLE analytics_seen (
    event_id      uuid    PRIMARY KEY,
    seen_at_us    bigint  NOT NULL
);

CREATE TABLE analytics_merchant_hours (
    merchant_id     uuid    NOT NULL,
    hour_no         bigint  NOT NULL,
    gmv_minor       bigint  NOT NULL DEFAULT 0,
    orders          bigint  NOT NULL DEFAULT 0,
    refunds         bigint  NOT NULL DEFAULT 0,
    refund_minor    bigint  NOT NULL DEFAULT 0,
    discount_minor  bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, hour_no)
);
CREATE INDEX analytics_merchant_hours_hour ON analytics_merchant_hours (hour_no);

CREATE TABLE analytics_campaign_hours (
    merchant_id     uuid    NOT NULL,
    campaign_id     uuid    NOT NULL,
    hour_no         bigint  NOT NULL,
    orders          bigint  NOT NULL DEFAULT 0,
    discount_minor  bigint  NOT NULL DEFAULT 0,
    gmv_minor       bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, hour_no, campaign_id)
);
CREATE INDEX analytics_campaign_hours_hour ON analytics_campaign_hours (hour_no);

-- A payer's first paid day at a merchant (new or returning payers).
CREATE TABLE analytics_merchant_payers (
    merchant_id   uuid    NOT NULL,
    payer_id      uuid    NOT NULL,
    first_day     integer NOT NULL,
    last_day      integer NOT NULL,
    orders        bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, payer_id)
);

-- A payer's orders at a merchant on a day, with the demographic buckets decided when the payment was handled
-- (gender 0 unknown, 1 male, 2 female; age_band 0 unknown, 1 <18 … 6 55+; province the GB/T 2260 two-digit code, 0 unknown).
CREATE TABLE analytics_payer_days (
    merchant_id   uuid     NOT NULL,
    day           integer  NOT NULL,
    payer_id      uuid     NOT NULL,
    orders        bigint   NOT NULL DEFAULT 0,
    gender        smallint NOT NULL,
    age_band      smallint NOT NULL,
    province      smallint NOT NULL,
    PRIMARY KEY (merchant_id, day, payer_id)
);

-- Platform-wide counts and volumes per China day and kind (payment, refund, transfer, top_up, withdrawal, red_packet,
-- cashback, registration, merchant_verified).
CREATE TABLE analytics_platform_days (
    day           integer NOT NULL,
    kind          text    NOT NULL,
    count         bigint  NOT NULL DEFAULT 0,
    volume_minor  bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (day, kind)
);

CREATE TABLE analytics_users (
    user_id         uuid    PRIMARY KEY,
    registered_day  integer NOT NULL
);

-- Who did anything with money on a day (paid, sent, topped up, withdrew, sent or claimed a red packet): DAU, MAU, retention, churn.
CREATE TABLE analytics_active_days (
    day       integer NOT NULL,
    user_id   uuid    NOT NULL,
    PRIMARY KEY (day, user_id)
);
-- Churn and retention follow one user across days.
CREATE INDEX analytics_active_days_user ON analytics_active_days (user_id, day);

CREATE TABLE analytics_cashback_days (
    campaign_id    uuid    NOT NULL,
    day            integer NOT NULL,
    amount_minor   bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (day, campaign_id)
);
