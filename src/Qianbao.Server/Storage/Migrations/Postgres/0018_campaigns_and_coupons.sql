-- Marketing campaigns and coupons (Modules/Marketing). A campaign's money is its budget account in the ledger (funded at
-- creation, the remainder returned once when it stops or ends); these rows are what the operator asked for and the
-- coupon counters, changed in the same transactions as the ledger postings or the coupon rows they count.
CREATE TABLE campaigns (
    id                  uuid     PRIMARY KEY,
    name                text     NOT NULL,
    kind                smallint NOT NULL,               -- CampaignKind: 0 coupon, 1 first_payment, 2 cashback, 3 points
    funding_source      smallint NOT NULL,               -- FundingSource: 0 platform, 1 merchant
    funder_merchant_id  uuid     NULL,
    currency            text     NOT NULL,
    budget_amount       bigint   NOT NULL CHECK (budget_amount > 0),
    budget_account_id   uuid     NOT NULL,
    returned_amount     bigint   NOT NULL DEFAULT 0,     -- what was returned to the funder when it stopped or ended
    starts_at_us        bigint   NOT NULL,
    ends_at_us          bigint   NOT NULL,
    merchant_ids        text     NOT NULL,               -- comma-separated merchant ids where it applies; empty: every merchant
    terms               text     NOT NULL,               -- the kind's fields as JSON (CampaignTerms)
    state               smallint NOT NULL,               -- CampaignState: 0 open, 1 stopped, 2 ended
    coupon_stock        integer  NOT NULL DEFAULT 0,
    coupon_per_user_max integer  NOT NULL DEFAULT 0,
    coupons_claimed     integer  NOT NULL DEFAULT 0 CHECK (coupons_claimed <= coupon_stock),
    coupons_used        integer  NOT NULL DEFAULT 0,
    coupons_returned    integer  NOT NULL DEFAULT 0,
    created_by          uuid     NULL,
    created_at_us       bigint   NOT NULL,
    closed_at_us        bigint   NULL
);
CREATE INDEX campaigns_open_ends ON campaigns (state, ends_at_us);
CREATE INDEX campaigns_created ON campaigns (created_at_us);

-- How many coupons each user claimed of a campaign: the per-user limit is one conditional upsert on this row.
CREATE TABLE campaign_claimers (
    campaign_id  uuid    NOT NULL,
    user_id      uuid    NOT NULL,
    claimed      integer NOT NULL,
    PRIMARY KEY (campaign_id, user_id)
);
CREATE INDEX campaign_claimers_user ON campaign_claimers (user_id);

CREATE TABLE coupons (
    id             uuid     PRIMARY KEY,                 -- derived from the user and the claim's Idempotency-Key
    campaign_id    uuid     NOT NULL,
    user_id        uuid     NOT NULL,
    status         smallint NOT NULL,                    -- CouponStatus: 0 available, 1 used (expired is computed)
    type           smallint NOT NULL,                    -- CouponType: 0 fixed, 1 percent, 2 threshold
    amount         bigint   NOT NULL,
    percent_bps    integer  NOT NULL,
    cap            bigint   NOT NULL,
    min_spend      bigint   NOT NULL,
    currency       text     NOT NULL,
    expires_at_us  bigint   NOT NULL,
    claimed_at_us  bigint   NOT NULL,
    used_at_us     bigint   NULL
);
CREATE INDEX coupons_user ON coupons (user_id, status, expires_at_us);
CREATE INDEX coupons_campaign ON coupons (campaign_id, status, expires_at_us);
