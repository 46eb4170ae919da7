-- A merchant answers the complaints users filed about its trades (issue 12, the merchant console): each complaint about a
-- trade names the trade's merchant (written when it is opened; complaints opened before this migration take it from their
-- trade here, once), and a reply names the merchant staff member who wrote it (null: support's).
ALTER TABLE complaints ADD COLUMN merchant_id text NULL;
UPDATE complaints SET merchant_id = (SELECT t.merchant_id FROM trades t WHERE t.trade_no = complaints.trade_no) WHERE trade_no IS NOT NULL;
CREATE INDEX complaints_merchant ON complaints (merchant_id, created_at_us DESC, id DESC);
ALTER TABLE complaint_replies ADD COLUMN merchant_staff_id text NULL;
