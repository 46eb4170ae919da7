-- The set-based campaign send (issue 11) updates two rows per recipient: the person's settings row (the inbox number,
-- also taken by every other notification) and the campaign member (its notification). Room on each page lets those
-- updates be HOT (the new version on the same page, no new index entries) instead of a new tuple elsewhere plus an index
-- insert each. Applies to pages written from now on (existing pages fill as they are rewritten).
ALTER TABLE notification_settings SET (fillfactor = 70);
ALTER TABLE messaging_campaign_members SET (fillfactor = 45);
-- A HOT update may not change a column an index refers to, predicates included: the partial "unsent" index named
-- notification_id, so every member update also wrote a primary key entry. The sends walk the primary key instead.
DROP INDEX messaging_campaign_members_unsent;
