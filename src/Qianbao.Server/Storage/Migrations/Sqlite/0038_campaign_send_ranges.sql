-- Members no longer record their notification (issue 11): it is found by the inbox's unique key (user_id, dedupe_key
-- "campaign:<id>"). The send ranges are used by PostgreSQL's set-based send; SQLite keeps the table for one schema.
CREATE TABLE messaging_campaign_send_ranges (
    campaign_id    text     NOT NULL,
    range_no       smallint NOT NULL,
    first_user_id  text     NOT NULL,
    last_user_id   text     NOT NULL,
    sent_through   text,
    PRIMARY KEY (campaign_id, range_no)
);
DROP INDEX messaging_campaign_members_unsent;
ALTER TABLE messaging_campaign_members DROP COLUMN notification_id;
