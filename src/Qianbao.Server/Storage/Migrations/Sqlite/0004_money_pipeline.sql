-- Money pipeline (SQLite dialect of the PostgreSQL migration of the same number): owners an operator froze.
CREATE TABLE owner_freezes (
    owner_id      text   PRIMARY KEY,
    reason        text   NOT NULL,
    frozen_at_us  bigint NOT NULL
);
