-- Red packets (Modules/RedPackets). The money is in the ledger: at creation the whole amount moves from the sender's
-- wallet to the packet's own escrow account; each claim moves one share from there to the claimer, and expiry moves
-- what is left back to the sender. These rows say what the packet is and which share went to whom; they change in the
-- ledger batch transaction that moves the money.
CREATE TABLE red_packets (
    id              uuid     PRIMARY KEY,            -- also the id of the creation's ledger transfer
    code            text     NOT NULL UNIQUE,        -- the unguessable share code claimers use
    sender_id       uuid     NOT NULL,
    amount          bigint   NOT NULL CHECK (amount > 0),
    currency        text     NOT NULL,
    share_count     integer  NOT NULL CHECK (share_count BETWEEN 1 AND 100),
    split           smallint NOT NULL,               -- RedPacketSplit: 0 fixed, 1 lucky
    message         text     NOT NULL,
    status          smallint NOT NULL,               -- RedPacketStatus: 0 open, 1 expired (the rest returned)
    created_at_us   bigint   NOT NULL,
    expires_at_us   bigint   NOT NULL,
    refunded_amount bigint   NULL,                   -- set at expiry: what went back to the sender
    expired_at_us   bigint   NULL
);
CREATE INDEX red_packets_due ON red_packets (status, expires_at_us);
CREATE INDEX red_packets_sender ON red_packets (sender_id, created_at_us);

-- Every share is fixed at creation (lucky amounts too), so a claim only picks an unclaimed one.
CREATE TABLE red_packet_shares (
    packet_id       uuid     NOT NULL REFERENCES red_packets (id),
    seq             integer  NOT NULL,
    amount          bigint   NOT NULL CHECK (amount > 0),
    claimed_by      uuid     NULL,
    claimed_at_us   bigint   NULL,
    PRIMARY KEY (packet_id, seq)
);
-- One share per person and packet, whatever the races (NULLs, the unclaimed shares, do not collide).
CREATE UNIQUE INDEX red_packet_shares_claimer ON red_packet_shares (packet_id, claimed_by);
CREATE INDEX red_packet_shares_by_claimer ON red_packet_shares (claimed_by);
