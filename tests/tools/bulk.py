"""Writing many rows of one model fast, in bounded memory: what ``seed_scale`` streams through.

PostgreSQL gets one ``COPY`` per batch; other databases (SQLite, for the tests) multi-row INSERTs.
Rows skip ``save()``, signals and services: this is for bulk test data, never for real writes.
"""

import json
from collections.abc import Callable, Iterable

from django.db import connection
from django.db.models import JSONField, Model


class BulkWriter:
    """Rows of ``model`` given as tuples of ``given`` (attribute names), ``batch_size`` at a time.

    Every other column takes its field's default (called per row when it is callable); a column
    with no default and no value is refused up front, so a field added to the model later shows
    up here as a clear error rather than as a failed COPY halfway through.
    """

    def __init__(
        self,
        model: type[Model],
        given: Iterable[str],
        *,
        batch_size: int = 10_000,
        progress: Callable[[int], None] | None = None,
    ):
        self.model, self.given, self.batch_size, self.progress = model, list(given), batch_size, progress
        fields = list(model._meta.concrete_fields)
        by_attname = {field.attname: field for field in fields}
        unknown = set(self.given) - set(by_attname)
        if unknown:
            raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
        # Columns left out take their defaults; an auto-incremented key left out is the database's to number.
        self.extra = [f for f in fields if f.attname not in self.given and not (f.primary_key and f.db_returning)]
        self.per_row = [field.has_default() and callable(field.default) for field in self.extra]
        self.constant = [
            None if per_row else f.get_default() for f, per_row in zip(self.extra, self.per_row, strict=True)
        ]
        missing = [
            f.attname
            for f, per_row, constant in zip(self.extra, self.per_row, self.constant, strict=True)
            if not per_row and constant is None and not f.null
        ]
        if missing:
            raise ValueError(f"{model.__name__} rows need values for {missing}")
        self.fields = [by_attname[name] for name in self.given] + self.extra
        self.postgresql = connection.vendor == "postgresql"
        self.convert = [self._converter(field) for field in self.fields]
        self.batch: list[tuple] = []
        self.written = 0

    def _converter(self, field) -> Callable:
        if self.postgresql:  # COPY parses each column's text: only JSON needs encoding
            return json.dumps if isinstance(field, JSONField) else _same
        return lambda value: field.get_db_prep_save(value, connection)

    def add(self, row: tuple) -> None:
        extra = tuple(
            field.get_default() if per_row else constant
            for field, per_row, constant in zip(self.extra, self.per_row, self.constant, strict=True)
        )
        self.batch.append(tuple(convert(value) for convert, value in zip(self.convert, row + extra, strict=True)))
        if len(self.batch) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        table = connection.ops.quote_name(self.model._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(field.column) for field in self.fields)
        with connection.cursor() as cursor:
            if self.postgresql:
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in self.batch:
                        copy.write_row(row)
            else:
                placeholders = ", ".join(["%s"] * len(self.fields))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", self.batch)  # noqa: S608
        self.written += len(self.batch)
        self.batch = []
        if self.progress is not None:
            self.progress(self.written)

    def __enter__(self) -> "BulkWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.flush()


def _same(value):
    return value


def next_id(model: type[Model]) -> int:
    """The first free primary key of an integer-keyed table (rows are then written with explicit keys)."""
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def reset_sequences(*models: type[Model]) -> None:
    """After rows were written with explicit keys: new rows continue past them."""
    from django.core.management.color import no_style

    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
