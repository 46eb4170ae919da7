-- Identities held for a watchlist review keep the resident ID number sealed as the users row will (identity_number_enc),
-- and their name sealed too (the name column now holds a sealed value), so nothing in this table is clear-text PII.
ALTER TABLE identity_reviews ADD COLUMN number_enc text;
