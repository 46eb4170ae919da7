-- The ledger rewrites every account a batch touches (issue 13: HOT pruning of the accounts pages was 7 % of PostgreSQL's CPU
-- in the ledger bench). Room on each page keeps those updates HOT with fewer, cheaper prunes of a page (fewer rows on it).
-- Applies to pages written from now on (existing pages fill as they are rewritten).
ALTER TABLE accounts SET (fillfactor = 50);
