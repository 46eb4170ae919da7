-- Issue 13: the merchant's fee rate is stamped on the trade when it is opened, as the rate agreed with the order; the payment
-- charges it without reading the merchant (one statement of another module's tables less per payment). Null on trades opened
-- before this column: their payment reads the merchant's rate, as it did.
ALTER TABLE trades ADD COLUMN fee_bps integer NULL CHECK (fee_bps BETWEEN 0 AND 10000);
