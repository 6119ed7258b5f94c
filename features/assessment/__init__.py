"""features/assessment."""
