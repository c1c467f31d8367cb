"""Checks of the Default Domain Policy GPO and the domain password policy."""
