"""The REST management API: Auth0 Management API v2 paths, shapes, paging and errors, on DRF."""
