"""The curated dataset shipped with kzmig, read as package data (see README.md here)."""
