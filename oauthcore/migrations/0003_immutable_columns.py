"""Database triggers that refuse a change to a column fixed at creation, whoever issues the UPDATE.

The models refuse the same changes with field errors; these triggers also cover bulk updates
and raw SQL. The error is an integrity violation on both PostgreSQL and SQLite.
"""

from django.db import migrations

IMMUTABLE_COLUMNS = {
    "oauthcore_application": ["is_first_party", "third_party_security_mode", "client_id", "created_via"],
    "oauthcore_resourceserver": ["identifier", "is_system", "signing_alg"],
    "oauthcore_clientgrant": ["client_id", "default_for", "audience", "subject_type"],
    "oauthcore_connection": ["name", "strategy"],
    "oauthcore_user": ["uid", "connection_id"],
}

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION portcullis_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is set at creation and cannot be changed.', TG_ARGV[0]
        USING ERRCODE = 'check_violation';
END;
$$ LANGUAGE plpgsql;
"""


def trigger_name(table: str, column: str) -> str:
    return f"{table}_{column}_immutable"


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
    for table in IMMUTABLE_COLUMNS:
        create_table_triggers(schema_editor, table)


def create_table_triggers(schema_editor, table: str) -> None:
    """The triggers of one table (also used by later migrations: SQLite drops a table's triggers
    when Django rebuilds the table to change its columns)."""
    vendor = schema_editor.connection.vendor
    for column in IMMUTABLE_COLUMNS[table]:
        name = trigger_name(table, column)
        if vendor == "postgresql":
            schema_editor.execute(
                f'CREATE TRIGGER {name} BEFORE UPDATE OF "{column}" ON {table} FOR EACH ROW '
                f'WHEN (OLD."{column}" IS DISTINCT FROM NEW."{column}") '
                f"EXECUTE FUNCTION portcullis_refuse_change('{column}')",
                params=None,
            )
        elif vendor == "sqlite":
            schema_editor.execute(
                f'CREATE TRIGGER {name} BEFORE UPDATE OF "{column}" ON {table} FOR EACH ROW '
                f'WHEN OLD."{column}" IS NOT NEW."{column}" '
                f"BEGIN SELECT RAISE(ABORT, '{column} is set at creation and cannot be changed.'); END",
                params=None,
            )


def sqlite_trigger_restorer(table: str):
    """A RunPython function putting ``table``'s triggers back on SQLite, which drops a table's
    triggers whenever Django rebuilds the table (a foreign key column or a constraint changed);
    whether or not the rebuild happened, the triggers are there afterwards. PostgreSQL keeps them."""

    def restore(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        for column in IMMUTABLE_COLUMNS[table]:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger_name(table, column)}")
        create_table_triggers(schema_editor, table)

    return restore


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, columns in IMMUTABLE_COLUMNS.items():
        for column in columns:
            name = trigger_name(table, column)
            if vendor == "postgresql":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            elif vendor == "sqlite":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS portcullis_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("oauthcore", "0002_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
