-- A message held by quiet hours is released when they end: it then takes the next inbox number (so an open stream, and
-- a stream resuming with Last-Event-ID, sees it as new) and wakes the person's streams. Until then it is pending.
ALTER TABLE notifications ADD COLUMN release_pending smallint NOT NULL DEFAULT 0;
CREATE INDEX notifications_release_pending ON notifications (visible_at_us) WHERE release_pending = 1;
