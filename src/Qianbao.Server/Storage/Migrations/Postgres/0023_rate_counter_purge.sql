-- Rate-counter windows are purged by age (RateCounters deletes windows older than two days): an index to find them.
CREATE INDEX rate_counters_window ON rate_counters (window_start_us);
