-- The set-based campaign send (issue 11) no longer writes each member: a member's notification is found by the inbox's own
-- unique key (user_id, dedupe_key "campaign:<id>"), and how far the send got is one mark per range of the members. Start
-- splits the members (in user id order) into a few ranges of about equal size; each range is sent batch after batch by
-- whoever holds its row lock (ranges in parallel on several cores, or by several processes), and each batch moves the
-- range's mark in its own transaction: a crash resumes after the last committed batch and notifies nobody twice.
CREATE TABLE messaging_campaign_send_ranges (
    campaign_id    uuid     NOT NULL,
    range_no       smallint NOT NULL,
    first_user_id  uuid     NOT NULL,                        -- the range, inclusive at both ends, in uuid order
    last_user_id   uuid     NOT NULL,
    sent_through   uuid,                                     -- the last member the set-based send has passed (null: none yet)
    PRIMARY KEY (campaign_id, range_no)
);
-- Campaigns started before: one range over everyone, marked where their members' recorded notifications end (the set-based
-- send walked the members in order; the per-person path runs after it and finds its people by the dedupe key).
INSERT INTO messaging_campaign_send_ranges (campaign_id, range_no, first_user_id, last_user_id, sent_through)
SELECT c.id, 0, '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
       (SELECT max(m.user_id::text)::uuid FROM messaging_campaign_members m WHERE m.campaign_id = c.id AND m.notification_id IS NOT NULL)
FROM messaging_campaigns c WHERE c.status IN (1, 2);
ALTER TABLE messaging_campaign_members DROP COLUMN notification_id;
