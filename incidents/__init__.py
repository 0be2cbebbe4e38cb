"""The incident database: past reviews stored with their structured fields, imported from reports,
Markdown postmortems or a public corpus, and searched for similar incidents (issue 19).

SQLite by default (one file in the user data folder), PostgreSQL with a `postgresql://` URL; the
schema is owned by Alembic migrations in `incidents/migrations`.
"""
