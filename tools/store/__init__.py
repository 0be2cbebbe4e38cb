"""SQLite evidence store, cut by job: `schema` (tables, version, opening a file), `rows` (records
to and from rows, the shared WHERE clause), `writer` (what ingest uses: create, shard merge,
finalize), `reader` (what analysis, search and validators use: get, iter, search, match) and
`aggregates` (status totals, log buckets, per-minute totals, error records). SQL lives here only."""
