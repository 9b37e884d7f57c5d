"""Test support: harnesses and generated inputs shared by tests and bench/ (not shipped)."""
