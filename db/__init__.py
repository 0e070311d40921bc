"""Schema, engine and migrations."""
