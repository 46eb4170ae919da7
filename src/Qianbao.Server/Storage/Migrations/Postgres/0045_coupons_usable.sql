-- Issue 13: a payment's usable coupons by a skip scan. Coupons of one campaign with the same terms take the same discount off any
-- total, so of each such group only the one that expires first can be the best (Coupons.UsableForAsync). With the available
-- coupons in this order, the payment reads one index entry per group (a recursive probe) instead of every available coupon
-- the payer holds, sorted: 88 coupons of one campaign took 0.56 ms, one probe per group 0.11 ms. Partial: a used coupon leaves
-- it (an expired one stays available in status; a probe passes over its entry in the index, expires_at_us being a key column,
-- without visiting the table). Built inside the migration's transaction (a lock on coupons while it runs), once.
CREATE INDEX coupons_usable ON coupons (user_id, campaign_id, type, amount, percent_bps, cap, min_spend, expires_at_us, id) WHERE status = 0;
