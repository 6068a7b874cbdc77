"""Partner writes: keyword-only, atomic, audited. The portal's pages, the admin and seed_demo call these.

One module per subject, imported by its callers (``portal.partners.services.invitations`` …). Every
email these writes call for is queued in the same transaction (portal.partners.emails), so it goes out
only if the write commits.
"""
