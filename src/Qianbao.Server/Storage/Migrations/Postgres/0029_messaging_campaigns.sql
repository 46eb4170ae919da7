-- Messaging campaigns with A/B variants and a holdout (issue 11). A campaign's definition (segment, channels, variants,
-- conversion) is kept as the JSON it was created with; start materialises its members: everyone the segment selected,
-- each with the variant assigned by hash (null: the holdout, who receive nothing and are measured). Sending notifies each
-- non-holdout member through the notifier (consent, quiet hours, caps) and records the notification on the member row.
CREATE TABLE messaging_campaigns (
    id              uuid     PRIMARY KEY,
    name            text     NOT NULL,
    definition      text     NOT NULL,                      -- JSON {segment, channels, variants, conversion}
    holdout_bps     integer  NOT NULL,
    send_at_us      bigint,                                 -- null: when started
    status          smallint NOT NULL,                      -- CampaignState: 0 draft, 1 scheduled, 2 sending, 3 sent
    audience        integer,
    holdout         integer,
    scheduled       integer,
    created_at_us   bigint   NOT NULL,
    started_at_us   bigint,
    sent_at_us      bigint
);
CREATE INDEX messaging_campaigns_due ON messaging_campaigns (status, send_at_us);

CREATE TABLE messaging_campaign_members (
    campaign_id      uuid     NOT NULL,
    user_id          uuid     NOT NULL,
    variant          text,                                  -- null: the holdout
    notification_id  uuid,                                  -- set when sent
    PRIMARY KEY (campaign_id, user_id)
);
CREATE INDEX messaging_campaign_members_unsent ON messaging_campaign_members (campaign_id) WHERE notification_id IS NULL AND variant IS NOT NULL;

-- Payments as segment and conversion facts, fed by a durable subscriber of trade.paid (never Acquiring's tables).
CREATE TABLE messaging_payments (
    trade_no      text    PRIMARY KEY,
    user_id       uuid    NOT NULL,
    merchant_id   uuid    NOT NULL,
    amount_minor  bigint  NOT NULL,
    paid_at_us    bigint  NOT NULL
);
CREATE INDEX messaging_payments_user ON messaging_payments (user_id, paid_at_us);
CREATE INDEX messaging_payments_at ON messaging_payments (paid_at_us);
