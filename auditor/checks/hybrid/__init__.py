"""Checks across the seam between Entra ID and on-premises AD: a cloud setting judged against an AD one.

(The registry skips packages, so this module is not a check.)
"""
