from tests.conftest import _on_postgresql

# Concurrency only a server database runs in parallel, and its append-only trigger: collected on PostgreSQL.
collect_ignore = [] if _on_postgresql() else ["test_audit_postgresql.py"]
