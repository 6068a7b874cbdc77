"""``manage.py verify_audit_log``: check the audit log's hash chain; name what was edited or deleted."""

from django.core.management.base import BaseCommand, CommandError

from oauthcore.audit_chain import verify_chain


class Command(BaseCommand):
    help = "Check that no audit log entry was edited or deleted (exit status 1 when one was)."

    def handle(self, *args, **options):
        report = verify_chain()
        if report.intact:
            self.stdout.write(f"Audit log intact: {report.checked} entries, chain verified.")
            return
        for problem in report.problems:
            self.stderr.write(problem)
        raise CommandError(f"Audit log tampered with: {len(report.problems)} problem(s) in {report.checked} entries.")
