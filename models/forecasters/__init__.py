"""models/forecasters."""
