"""Token activity: how many access tokens were issued and how many requests were denied, per minute,
per application and per API.

A small counter table, so that the console's charts never scan the audit log or the token tables:
one row per minute, client and API that saw any activity, incremented in place by
``oauthcore.activity.add_token_activity`` (the only writer).
"""

from django.db import models


class TokenActivity(models.Model):
    bucket = models.DateTimeField("minute", help_text="The start of the minute (UTC) the counts are for.")
    # Plain values, not foreign keys: the counts outlive a deleted app or API, cost no lookup when
    # written, and a denied request may name a client or an API that does not exist ("" for none).
    client_id = models.CharField(max_length=100, blank=True)
    audience = models.CharField("API identifier", max_length=600, blank=True)
    issued = models.PositiveBigIntegerField(default=0)
    denied = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "token activity"
        verbose_name_plural = "token activity"
        constraints = [
            # The conflict target of the counter's upsert (INSERT … ON CONFLICT … DO UPDATE). Its index
            # leads with the bucket, so it also serves the charts' reads of a range of minutes: no
            # second index on ``bucket`` to keep up on every token.
            models.UniqueConstraint(fields=["bucket", "client_id", "audience"], name="token_activity_one_per_key"),
        ]

    def __str__(self):
        return f"{self.bucket:%Y-%m-%d %H:00} {self.client_id or '-'} → {self.audience or '-'}"
