"""``manage.py verify_audit_log``: seal what is pending, check the audit log's hash chain, and name
what was edited, deleted or reordered."""

from django.core.management.base import BaseCommand, CommandError

from oauthcore.audit_chain import seal, verify_chain


class Command(BaseCommand):
    help = (
        "Chain the audit entries not sealed yet, then check that no sealed entry was edited, deleted or "
        "reordered (exit status 1 when one was). Entries still unsealed are counted as pending."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-seal",
            action="store_true",
            help="Only check, writing nothing (e.g. on a read-only replica): unsealed entries stay pending.",
        )

    def handle(self, *args, **options):
        if not options["no_seal"]:
            seal()
        report = verify_chain()
        pending = f" {report.pending} newer entries pending (written, not sealed yet)." if report.pending else ""
        if report.intact:
            self.stdout.write(f"Audit log intact: {report.checked} entries, chain verified.{pending}")
            return
        for problem in report.problems:
            self.stderr.write(problem)
        raise CommandError(
            f"Audit log tampered with: {len(report.problems)} problem(s) in {report.checked} entries.{pending}"
        )
