-- PostgreSQL only (issue 13): the index of the live points lots. SQLite (in process) keeps points_lots_user, which serves the same
-- statements (`remaining <> 0` is then a filter on the rows it reads).
SELECT 1;
