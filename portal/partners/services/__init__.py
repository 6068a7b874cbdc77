"""Partner writes: keyword-only, atomic, audited. Views, admin, commands and tasks call these.

Every email these writes call for is queued in the same transaction (portal.partners.emails), so it goes
out only if the write commits.
"""
