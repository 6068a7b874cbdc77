"""What the end-to-end sign-ins share (their cast is the ``cast`` fixture of this folder's conftest)."""

ORDERS = "https://orders.example.com/"
VERIFIER = "o" * 64
