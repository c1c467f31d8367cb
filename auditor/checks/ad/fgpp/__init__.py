"""Checks of fine-grained password policies (password settings objects)."""
