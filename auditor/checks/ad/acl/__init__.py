"""Checks of the sync account's rights in the directory's access-control lists."""
