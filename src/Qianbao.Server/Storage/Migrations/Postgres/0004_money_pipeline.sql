-- Money pipeline: owners an operator froze. Their accounts receive but do not pay (FreezePolicy).
-- Read by the ledger batch with the account locks, so a freeze applies to every module's movements alike.
CREATE TABLE owner_freezes (
    owner_id      uuid   PRIMARY KEY,
    reason        text   NOT NULL,
    frozen_at_us  bigint NOT NULL
);
