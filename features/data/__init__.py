"""features/data."""
