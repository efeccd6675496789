"""Test support shared across the suite: chain fixtures and helpers."""
