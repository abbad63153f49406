"""Use cases that write: one function per use case, keyword-only, one transaction."""
