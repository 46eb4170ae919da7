-- Personal data sealed at rest (AES-256-GCM, see Storage/PersonalData) and looked up by blind index (HMAC-SHA256 under a
-- key outside the database). Columns that held clear text keep their names and now hold:
--   users.phone                 the phone's blind index (unique, as the phone was); the number itself is in phone_enc
--   users.name, identity_name   sealed values
--   users.identity_number_hash  the ID number's blind index (rows verified before 0016: the older keyed hash; lookups try both)
--   verifications.phone         the phone's blind index
--   outbound_messages.recipient the recipient's blind index; the address itself is in recipient_enc
--   merchants.licence_no        the licence's blind index (unique); the licence itself is in licence_enc
--   merchants.legal_person, contact_phone  sealed values
-- Rows written before this migration are converted by the server at start (IPlaintextUpgrade), not here: SQL has no keys.
ALTER TABLE users ADD COLUMN phone_enc           text;
ALTER TABLE users ADD COLUMN identity_number_enc text;
ALTER TABLE users ADD COLUMN closed_at_us        bigint;   -- DELETE /v1/me: personal data erased, the row kept for the ledger
ALTER TABLE outbound_messages ADD COLUMN recipient_enc text;
ALTER TABLE merchants ADD COLUMN licence_enc text;
COMMENT ON COLUMN users.phone IS 'blind index of the E.164 phone (HMAC-SHA256, key outside the database); the number is sealed in phone_enc';
COMMENT ON COLUMN verifications.phone IS 'blind index of the E.164 phone';
COMMENT ON COLUMN outbound_messages.recipient IS 'blind index of the recipient; the address is sealed in recipient_enc';
COMMENT ON COLUMN merchants.licence_no IS 'blind index of the licence number; the number is sealed in licence_enc';
