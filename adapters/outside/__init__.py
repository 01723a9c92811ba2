"""The outside the core calls: the database, the outside systems and their sandbox, documents and PDF, settings.

Nothing here imports `workflows/` or the ways in."""
