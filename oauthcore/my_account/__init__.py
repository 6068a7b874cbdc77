"""The My Account API (``{ISSUER}/me/``): a signed-in user's own account, for the tenant's first-party apps.

A system API: its tokens are user-delegated and only first-party apps get them (rule 3 of the
decision refuses third-party apps, its client policy refuses client credentials). Every call acts
on the token's user and no path names another user.
"""
