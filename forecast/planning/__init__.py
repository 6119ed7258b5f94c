"""forecast/planning."""
