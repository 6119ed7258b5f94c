"""features/ingest."""
