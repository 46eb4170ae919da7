-- A merchant's service message key (SQLite dialect of the PostgreSQL migration of the same number): claimed by inserting it
-- here first in the sending transaction, so one key names one message however many sends race for it.
CREATE TABLE service_message_keys (
    merchant_id    text   NOT NULL,
    dedupe_key     text   NOT NULL,
    created_at_us  bigint NOT NULL,
    PRIMARY KEY (merchant_id, dedupe_key)
);

INSERT INTO service_message_keys (merchant_id, dedupe_key, created_at_us)
SELECT sender_merchant_id, dedupe_key, min(created_at_us) FROM notifications
WHERE sender_merchant_id IS NOT NULL GROUP BY sender_merchant_id, dedupe_key
ON CONFLICT DO NOTHING;
