"""The lab domain: a real Samba AD DC on loopback, provisioned and seeded for the audit (see auditor/lab/ for the
lab tenant)."""
