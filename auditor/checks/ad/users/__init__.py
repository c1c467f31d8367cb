"""Checks of the synced users themselves."""
