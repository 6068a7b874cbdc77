"""Every write that matters: keyword-only, atomic, audited. Views, admin, API and tasks call these."""
