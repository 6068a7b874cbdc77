"""The My Organization API (``{ISSUER}/my-org/``): an organization's own administrators manage it.

They call it from a first-party app with a user-delegated token for its audience, obtained while
logging in to the organization: the token's ``org_id`` is the organization every call is about, and
the user must be one of its administrators. Third-party apps never get such a token (the decision's
system-API rule), nor a client grant to ask for one.
"""
