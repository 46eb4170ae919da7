-- A marketing message is sent only while its person's marketing consent on its channel holds: the sender asks at delivery
-- time (a mail queued, or held by quiet hours, before a one-click unsubscribe is then withdrawn, never sent).
ALTER TABLE outbound_messages ADD COLUMN marketing smallint NOT NULL DEFAULT 0;

