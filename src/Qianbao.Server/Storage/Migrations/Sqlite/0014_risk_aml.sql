-- (SQLite dialect of the PostgreSQL migration of the same number: text ids.)
-- Risk: AML monitoring (a movement log built from the domain events, cases and their hits) and watchlist screening;
-- Identity: identities held back while a watchlist case about their holder is open.

-- One row per side of a money movement, as the AML subscriber saw it in a domain event. The id is derived from the
-- event id and the side, so an event delivered again inserts nothing (delivery is at least once).
CREATE TABLE aml_movements (
    id               text     PRIMARY KEY,
    event_id         text     NOT NULL,
    subject_type     text   NOT NULL,   -- user | merchant
    subject_id       text     NOT NULL,
    direction        text   NOT NULL,   -- in | out
    kind             text   NOT NULL,   -- transfer | payment | refund | settlement | top_up | withdrawal
    amount_minor     bigint NOT NULL,
    currency         text   NOT NULL,
    counterparty_id  text  ,
    reference        text   NOT NULL,   -- transfer id, trade number, top-up or withdrawal id
    at_us            bigint NOT NULL,   -- when the event occurred
    china_date       text   NOT NULL    -- YYYY-MM-DD of at_us in China time (UTC+8): the day large values are summed over
);
CREATE INDEX aml_movements_subject ON aml_movements (subject_id, at_us);
CREATE INDEX aml_movements_date ON aml_movements (china_date);

-- A case: one subject, one rule. At most one case per subject and rule is not resolved; new hits join it.
CREATE TABLE risk_cases (
    id              text     PRIMARY KEY,
    subject_type    text   NOT NULL,
    subject_id      text     NOT NULL,
    rule            text   NOT NULL,   -- large_value | structuring | velocity | pass_through | dormant_active | watchlist
    status          text   NOT NULL,   -- open | assigned | resolved
    opened_at_us    bigint NOT NULL,
    detail          text,
    assigned_to     text  ,
    assigned_at_us  bigint,
    decision        text,              -- cleared | reported | frozen
    note            text,
    resolved_by     text  ,              -- null for the bootstrap operator key
    resolved_at_us  bigint
);
CREATE UNIQUE INDEX risk_cases_open ON risk_cases (subject_type, subject_id, rule) WHERE status <> 'resolved';
CREATE INDEX risk_cases_subject ON risk_cases (subject_id);

-- A movement a rule flagged. Keyed by rule, subject and movement: re-evaluating a redelivered event adds nothing, and a
-- movement already in a resolved case does not open a new one.
CREATE TABLE risk_hits (
    rule          text   NOT NULL,
    subject_id    text     NOT NULL,
    movement_id   text     NOT NULL,
    case_id       text     NOT NULL,
    amount_minor  bigint NOT NULL,
    at_us         bigint NOT NULL,
    PRIMARY KEY (rule, subject_id, movement_id)
);
CREATE INDEX risk_hits_case ON risk_hits (case_id, at_us);

CREATE TABLE watchlist_entries (
    id               text     PRIMARY KEY,
    name             text   NOT NULL,
    name_normalized  text   NOT NULL,   -- WatchlistNames.Normalize: width, case, spaces, traditional → simplified
    id_number        text,              -- upper case
    list             text   NOT NULL,
    note             text   NOT NULL,
    created_at_us    bigint NOT NULL
);
CREATE INDEX watchlist_entries_id_number ON watchlist_entries (id_number) WHERE id_number IS NOT NULL;

-- Identity's: a real-name identity a watchlist hit holds back until its case is cleared (then it is applied as if just verified).
CREATE TABLE identity_reviews (
    user_id        text     PRIMARY KEY,
    name           text   NOT NULL,
    number_hash    text   NOT NULL,
    number_masked  text   NOT NULL,
    birth_date     text   NOT NULL,
    created_at_us  bigint NOT NULL
);
