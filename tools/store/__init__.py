"""SQLite evidence store, cut by job: `schema` (tables and version), `writer` (ingest: create,
shard merge, finalize), `reader` (get, iter, search, match: what analysis and validators read) and
`aggregates` (status totals, log buckets, per-minute totals, error records). SQL lives here only."""
