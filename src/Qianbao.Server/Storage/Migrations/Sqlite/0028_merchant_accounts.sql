-- Merchant self-service onboarding, merchant staff and collection codes (Modules/Merchants).
-- A signed-up merchant (signed_up = 1) also keeps its legal person's resident ID number (sealed, like legal_person); a
-- rejected signup keeps its reason. collection_code is the static 收款码 of a verified merchant.
ALTER TABLE merchants ADD COLUMN legal_person_id_enc text;
ALTER TABLE merchants ADD COLUMN signed_up integer NOT NULL DEFAULT 0;
ALTER TABLE merchants ADD COLUMN rejected_reason text;
ALTER TABLE merchants ADD COLUMN rejected_at_us integer;
ALTER TABLE merchants ADD COLUMN collection_code text;
CREATE UNIQUE INDEX merchants_collection_code ON merchants (collection_code) WHERE collection_code IS NOT NULL;
CREATE INDEX merchants_status_created ON merchants (status, created_at_us);

-- Merchant staff log in with e-mail, password and (for admins) TOTP. email is the blind index (unique across
-- merchants: one login, one merchant), email_enc the address sealed.
CREATE TABLE merchant_staff (
    id                  text    PRIMARY KEY,
    merchant_id         text    NOT NULL REFERENCES merchants (id),
    email               text    NOT NULL UNIQUE,
    email_enc           text    NOT NULL,
    role                text    NOT NULL,          -- MerchantRole, snake_case
    password_hash       text    NOT NULL,
    totp_secret         text,                      -- Base32; required for admins
    totp_last_step      integer,
    failed_logins       integer NOT NULL DEFAULT 0,
    locked_until_us     integer,
    created_at_us       integer NOT NULL,
    disabled_at_us      integer
);
CREATE INDEX merchant_staff_merchant ON merchant_staff (merchant_id);
CREATE INDEX merchant_staff_disabled ON merchant_staff (disabled_at_us) WHERE disabled_at_us IS NOT NULL;

-- The native merchant API lists a merchant's trades newest first (Modules/Acquiring/MerchantApi).
CREATE INDEX trades_merchant_created ON trades (merchant_id, created_at_us);
