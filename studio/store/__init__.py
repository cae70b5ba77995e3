"""Persistence (SQLite). No Qt here."""
