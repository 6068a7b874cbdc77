# Audit entries are written pending (no sequence, no hashes) without a lock, and chained later by
# the sealer (oauthcore.audit_chain.seal). Entries already chained keep their sequence and hashes
# untouched, so they verify as before; the head row stays where it was and the sealer goes on from it.

from django.db import migrations, models

# PostgreSQL only: the append-only trigger (0007) lets one UPDATE through besides maintenance:
# sealing, where a pending entry gets its sequence and hashes and nothing else changes.
SEALABLE_SQL = """
CREATE OR REPLACE FUNCTION portcullis_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('portcullis.audit_maintenance', true), '') = 'on' THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.sequence IS NULL AND NEW.sequence IS NOT NULL
       AND to_jsonb(NEW) - 'sequence' - 'previous_hash' - 'entry_hash'
           = to_jsonb(OLD) - 'sequence' - 'previous_hash' - 'entry_hash' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'The audit log is append-only: % of an entry is refused.', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
"""
APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION portcullis_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('portcullis.audit_maintenance', true), '') = 'on' THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'The audit log is append-only: % of an entry is refused.', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
"""


def sealable(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SEALABLE_SQL, None)  # None: the % in the SQL are not placeholders


def append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL, None)


def seal_pending_entries(apps, schema_editor):
    """Going back to a schema where every entry has its place: chain the pending ones first.

    The live sealer is used: it runs first when migrating back, while the tables are still this
    migration's, and touches only the columns it names."""
    from oauthcore.audit_chain import seal

    seal()


class Migration(migrations.Migration):

    dependencies = [
        ('oauthcore', '0009_application_partner_link'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='entry_hash',
            field=models.CharField(blank=True, default='', editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='previous_hash',
            field=models.CharField(blank=True, default='', editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='sequence',
            field=models.BigIntegerField(editable=False, null=True, unique=True),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(condition=models.Q(('sequence__isnull', True)), fields=['id'], name='audit_pending'),
        ),
        migrations.RunPython(sealable, append_only),
        migrations.RunPython(migrations.RunPython.noop, seal_pending_entries),
    ]
