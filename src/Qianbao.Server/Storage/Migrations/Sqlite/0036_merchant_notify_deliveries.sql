-- The native merchant API lists a merchant's own notify deliveries (issue 12): each row names its merchant (the trade's,
-- written when the row is queued; rows queued before this migration take it from their trade here, once), and the HTTP
-- status of its last attempt (null when the attempt got no answer, or before the first).
ALTER TABLE notify_deliveries ADD COLUMN merchant_id text NULL;
ALTER TABLE notify_deliveries ADD COLUMN last_http_status integer NULL;
UPDATE notify_deliveries SET merchant_id = (SELECT t.merchant_id FROM trades t WHERE t.trade_no = notify_deliveries.trade_no);
CREATE INDEX notify_deliveries_merchant ON notify_deliveries (merchant_id, created_at_us DESC, id DESC);
