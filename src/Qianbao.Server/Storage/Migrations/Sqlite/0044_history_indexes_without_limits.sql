-- PostgreSQL only (issue 13): the history indexes without the tier-limit transfers. SQLite keeps its indexes: its history
-- statement does not walk them per account.
SELECT 1;
