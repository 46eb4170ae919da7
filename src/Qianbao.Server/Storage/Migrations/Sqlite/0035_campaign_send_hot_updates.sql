-- PostgreSQL only (issue 11): fill factors for HOT updates of notification settings and campaign members, and the
-- partial "unsent" index dropped there; SQLite has neither, and its per-person send keeps using the index.
SELECT 1;
