-- A merchant's service message key (out_biz_no, Idempotency-Key or request signature: the notification's dedupe key) is
-- claimed by inserting it here first in the sending transaction: of two concurrent sends reusing one key (also for
-- different people) the second waits on this primary key until the first commits, then finds it taken and answers with
-- what the key already named (the same message: its answer; another: ACQ.CONTEXT_INCONSISTENT). The notifications'
-- own unique key is per person, so it could not stop the second.
CREATE TABLE service_message_keys (
    merchant_id    uuid   NOT NULL,
    dedupe_key     text   NOT NULL,
    created_at_us  bigint NOT NULL,
    PRIMARY KEY (merchant_id, dedupe_key)
);

-- The keys already used (the first of each, should a race have used one twice).
INSERT INTO service_message_keys (merchant_id, dedupe_key, created_at_us)
SELECT sender_merchant_id, dedupe_key, min(created_at_us) FROM notifications
WHERE sender_merchant_id IS NOT NULL GROUP BY sender_merchant_id, dedupe_key
ON CONFLICT DO NOTHING;
