-- E-mail (issue 11): the outbound_messages queue gains the e-mail channel (MessageChannel 2) beside SMS, and users'
-- e-mail addresses with their pending proof. An e-mail row's recipient is the address's blind index and recipient_enc
-- the sealed address, as for phones; text is the plain-text part, html the HTML part, headers the caller's extra headers
-- (JSON object, e.g. List-Unsubscribe). dedupe_key makes "at most once per channel" a unique key: a second queue
-- with the same key is ignored. user_id names whose message it is, for the data export and erasure.
ALTER TABLE outbound_messages ADD COLUMN subject    text;
ALTER TABLE outbound_messages ADD COLUMN html       text;
ALTER TABLE outbound_messages ADD COLUMN headers    text;
ALTER TABLE outbound_messages ADD COLUMN dedupe_key text;
ALTER TABLE outbound_messages ADD COLUMN user_id    uuid;
CREATE UNIQUE INDEX outbound_messages_dedupe ON outbound_messages (channel, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX outbound_messages_user ON outbound_messages (user_id) WHERE user_id IS NOT NULL;

-- One row per user: the verified address (mail goes only there) and an address awaiting its emailed code.
CREATE TABLE user_emails (
    user_id             uuid     PRIMARY KEY,
    email               text,               -- blind index of the verified address
    email_enc           text,               -- the verified address, sealed with user_id
    verified_at_us      bigint,
    pending_email       text,               -- blind index of the address awaiting its code
    pending_email_enc   text,
    code_hash           text,               -- keyed hash of the 6-digit code (Identity's verification-code key)
    code_attempts       integer  NOT NULL DEFAULT 0,
    code_expires_at_us  bigint,
    updated_at_us       bigint   NOT NULL
);
CREATE INDEX user_emails_email ON user_emails (email) WHERE email IS NOT NULL;
