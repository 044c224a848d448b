"""Rollback: the previous version from git (or a prebuilt image), and what the current one leaves behind."""
