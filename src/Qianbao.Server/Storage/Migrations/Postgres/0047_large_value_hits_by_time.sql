-- Issue 13: the large-value report (GET /admin/v1/reports/large-value) finds its movements from the hits, by this partial index
-- of the large-value hits by time (few rows), each joined to its movement by id (AmlStore.LargeValueAsync). The movements' date
-- index served only that report, and every movement (two per transfer) paid an index insert for it.
CREATE INDEX risk_hits_large_value ON risk_hits (at_us) WHERE rule = 'large_value';
DROP INDEX aml_movements_date;
