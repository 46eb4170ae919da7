-- A trade may be settled by several requests (out_request_no); the running total bounds what the next one may move.
ALTER TABLE trades ADD COLUMN settled_amount bigint NOT NULL DEFAULT 0;

-- Trades settled before this column existed: their royalty shares (transfer code 7) are in the ledger. One pass over
-- the shares, not one scan of transfers per trade.
UPDATE trades SET settled_amount = shares.total
FROM (SELECT reference, sum(amount) AS total FROM transfers WHERE code = 7 AND reference IS NOT NULL GROUP BY reference) AS shares
WHERE shares.reference = trades.trade_no;
