"""gunicorn's settings, read when it starts from the project root (``gunicorn portal.wsgi``).

gunicorn's error log and access log (``--access-logfile``) have handlers of their own, outside
Django's ``LOGGING``: the request lines would print emailed links' tokens and device user codes.
This logger redacts them with the same filter as every other log.
"""

from gunicorn.glogging import Logger

from portal.platform.logging import RedactSecrets


class RedactedLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)  # again on every reload (HUP): the filters stay one each
        for log in (self.error_log, self.access_log):
            if not any(isinstance(existing, RedactSecrets) for existing in log.filters):
                log.addFilter(RedactSecrets())


logger_class = RedactedLogger
