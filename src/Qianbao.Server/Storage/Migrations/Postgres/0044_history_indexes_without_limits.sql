-- Issue 13: the history indexes leave out the tier-limit transfers (codes 9 limit_grant and 10 limit_usage). A secure transfer
-- writes two or three of them beside the payment itself, and each was two B-tree inserts (and their WAL) in indexes that only
-- the history page reads, which never shows them: they move between limit and limit-control accounts, never a wallet or a
-- merchant's settlement account. LedgerHistory's filters carry the same predicate, so the planner can use these indexes.
-- Built inside the migration's transaction (a lock on transfers while it runs), once.
CREATE INDEX transfers_debit_history ON transfers (debit_account_id, seq) WHERE code NOT IN (9, 10);
CREATE INDEX transfers_credit_history ON transfers (credit_account_id, seq) WHERE code NOT IN (9, 10);
DROP INDEX transfers_debit;
DROP INDEX transfers_credit;
