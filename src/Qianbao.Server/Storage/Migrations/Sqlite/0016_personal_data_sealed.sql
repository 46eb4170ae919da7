-- Personal data sealed at rest (SQLite dialect of the PostgreSQL migration of the same number, which explains the
-- columns): users.phone, verifications.phone, outbound_messages.recipient and merchants.licence_no now hold blind indexes;
-- users.name, identity_name, merchants.legal_person and contact_phone hold sealed values. Rows written before this
-- migration are converted by the server at start.
ALTER TABLE users ADD COLUMN phone_enc           text;
ALTER TABLE users ADD COLUMN identity_number_enc text;
ALTER TABLE users ADD COLUMN closed_at_us        bigint;   -- DELETE /v1/me: personal data erased, the row kept for the ledger
ALTER TABLE outbound_messages ADD COLUMN recipient_enc text;
ALTER TABLE merchants ADD COLUMN licence_enc text;
