-- PostgreSQL only (issue 13): the skip scan over a payer's available coupons. SQLite (in process) keeps its one statement over
-- the coupons_user index.
SELECT 1;
