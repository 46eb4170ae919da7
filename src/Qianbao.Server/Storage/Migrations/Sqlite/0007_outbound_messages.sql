-- Outbound messages (SQLite dialect of the PostgreSQL migration of the same number) (SMS now, e-mail later): a durable queue shared by every server process. A message is
-- queued in the transaction of what caused it, so nothing acknowledged is lost; the sender delivers it at most
-- once per channel (a row claims its attempt before sending) and retries failures with backoff.
CREATE TABLE outbound_messages (
    id                  text     PRIMARY KEY,
    channel             smallint NOT NULL,          -- MessageChannel: 1 sms
    recipient           text     NOT NULL,          -- E.164 phone for sms
    template            text     NOT NULL,
    locale              text     NOT NULL,
    text                text     NOT NULL,
    status              smallint NOT NULL,          -- MessageStatus: 0 queued, 1 sending, 2 delivered, 3 failed
    attempts            integer  NOT NULL DEFAULT 0,
    next_attempt_at_us  bigint   NOT NULL,
    created_at_us       bigint   NOT NULL,
    delivered_at_us     bigint,
    last_error          text
);
CREATE INDEX outbound_messages_due ON outbound_messages (next_attempt_at_us) WHERE status IN (0, 1);
CREATE INDEX outbound_messages_recipient ON outbound_messages (recipient, created_at_us);
