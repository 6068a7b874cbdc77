"""The MFA API (``{ISSUER}/mfa/``): a first-party app's own login or account UI managing the
signed-in user's second factors, in the paths and shapes of Auth0's MFA API."""
