-- PostgreSQL only (issue 13): a fill factor for the accounts table's HOT updates; SQLite has none.
SELECT 1;
