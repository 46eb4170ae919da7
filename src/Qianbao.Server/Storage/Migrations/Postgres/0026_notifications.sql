-- Notifications (issue 11): the in-app inbox, each person's notification settings (preferences, quiet hours, time zone;
-- the row is also the per-person lock and sequence every notification takes), per-channel delivery decisions, and the
-- consent records of marketing. Channel deliveries themselves are queued in their channel's outbox (outbound_messages).
CREATE TABLE notification_settings (
    user_id               uuid     PRIMARY KEY,
    transaction_channels  smallint NOT NULL DEFAULT 1,      -- bits: 1 in_app, 2 sms, 4 email
    marketing_channels    smallint NOT NULL DEFAULT 0,      -- off until the person consents
    service_channels      smallint NOT NULL DEFAULT 1,
    quiet_enabled         smallint NOT NULL DEFAULT 1,
    quiet_start_min       integer  NOT NULL DEFAULT 1320,   -- minutes after local midnight (22:00)
    quiet_end_min         integer  NOT NULL DEFAULT 480,    -- 08:00
    time_zone             text     NOT NULL DEFAULT 'Asia/Shanghai',
    locale                text,                             -- null: the account's locale
    last_seq              bigint   NOT NULL DEFAULT 0,      -- the person's notifications are numbered 1, 2, ... in commit order
    updated_at_us         bigint   NOT NULL DEFAULT 0
);

CREATE TABLE notifications (
    id                  uuid     PRIMARY KEY,
    user_id             uuid     NOT NULL,
    seq                 bigint   NOT NULL,
    category            smallint NOT NULL,                  -- NotificationCategory: 0 security, 1 transaction, 2 marketing, 3 service
    type                text     NOT NULL,
    dedupe_key          text     NOT NULL,
    status              smallint NOT NULL,                  -- NotificationStatus: 0 inbox, 1 not_in_inbox, 2 capped, 3 suppressed
    title               text     NOT NULL,
    body                text     NOT NULL,
    action              text,                               -- JSON {type, campaign_id | url}
    campaign_id         uuid,
    variant             text,
    sender_merchant_id  uuid,
    visible_at_us       bigint   NOT NULL,                  -- delivery time: later than created when held by quiet hours
    created_at_us       bigint   NOT NULL,
    read_at_us          bigint,
    clicked_at_us       bigint,
    feedback            text,
    UNIQUE (user_id, dedupe_key),
    UNIQUE (user_id, seq)
);
CREATE INDEX notifications_unread ON notifications (user_id, visible_at_us) WHERE read_at_us IS NULL AND status = 0;
CREATE INDEX notifications_marketing ON notifications (user_id, visible_at_us) WHERE category = 2 AND status IN (0, 1);

CREATE TABLE notification_deliveries (
    notification_id  uuid     NOT NULL,
    channel          smallint NOT NULL,                     -- NotificationChannel: 0 in_app, 1 sms, 2 email
    decision         smallint NOT NULL,                     -- DeliveryDecision: 0 now, 1 held, 2 capped, 3 unavailable
    due_at_us        bigint   NOT NULL,
    PRIMARY KEY (notification_id, channel)
);

CREATE TABLE notification_consents (
    id            uuid     PRIMARY KEY,
    user_id       uuid     NOT NULL,
    channel       smallint NOT NULL,
    status        smallint NOT NULL,                        -- 0 granted, 1 withdrawn
    at_us         bigint   NOT NULL,
    source        text     NOT NULL,
    text_version  text     NOT NULL
);
CREATE INDEX notification_consents_user ON notification_consents (user_id, at_us);

-- Operators' replacements of the built-in texts of a notification type in one locale (Liquid, validated on save).
CREATE TABLE notification_templates (
    type           text   NOT NULL,
    locale         text   NOT NULL,
    title          text   NOT NULL,
    body           text   NOT NULL,
    updated_at_us  bigint NOT NULL,
    PRIMARY KEY (type, locale)
);

-- Senders a person marked as spam (in-app feedback): their marketing and service messages reach that person no more.
CREATE TABLE notification_sender_blocks (
    user_id        uuid   NOT NULL,
    merchant_id    uuid   NOT NULL,
    created_at_us  bigint NOT NULL,
    PRIMARY KEY (user_id, merchant_id)
);
