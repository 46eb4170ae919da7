-- A marketing message is sent only while its person's marketing consent on its channel holds: the sender asks at delivery
-- time (a mail queued, or held by quiet hours, before a one-click unsubscribe is then withdrawn, never sent).
ALTER TABLE outbound_messages ADD COLUMN marketing smallint NOT NULL DEFAULT 0;

-- A merchant's service message is idempotent per (merchant, out_biz_no or request signature): the key is the
-- notification's dedupe key, looked up across people so a key reused for another person is refused.
CREATE INDEX notifications_sender_keys ON notifications (sender_merchant_id, dedupe_key) WHERE sender_merchant_id IS NOT NULL;
