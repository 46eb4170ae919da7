-- Channel holds (top-ups, code 1; withdrawals and payouts, code 2) resolve only by the channel's answer, never by
-- a local timeout: a hold released locally while the bank still pays would both pay out and refund. Holds created
-- before this rule carried a 24 h timeout; drop it from the ones still pending (state 1 = pending, flag 2 = pending
-- transfer). New channel holds are created without one. Settled holds keep their history untouched.
UPDATE transfers SET timeout_seconds = 0, expires_at_us = 0
WHERE state = 1 AND code IN (1, 2) AND (flags & 2) = 2 AND timeout_seconds <> 0;
