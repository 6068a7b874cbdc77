"""Querysets turned into SQL once per thread, for the few lookups every token request runs.

Building the SQL of a queryset on a wide model (an application: 35 columns) costs Django about
0.4 ms of CPU: three times the round trip that runs it. ``PreparedLookup`` builds it on first use,
keeps it per thread (compilers hold their thread's connection), and afterwards only binds the
parameters, runs the statement and turns the row into a model instance (or, for a
``values_list`` queryset, a tuple) with Django's own converters, exactly as the queryset would have.

The queryset is built once with marker values standing in for the parameters; each marker must
reach the SQL parameters unchanged (exact lookups on text or integer columns), which is checked
when the SQL is built: anything else is refused rather than guessed.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable


@dataclass(frozen=True)
class _Prepared:
    sql: str
    params: tuple
    slots: tuple[tuple[int, int, type], ...]  # (position in params, index of the argument, its type)
    compiler: object
    converters: dict
    init_list: list[str]
    model_slice: slice
    annotations: dict[str, int]


class PreparedLookup:
    """``PreparedLookup(lambda client_id: Application.objects.filter(client_id=client_id), "c")``;
    then ``lookup.first("abc")`` is ``build("abc").first()`` without ordering: the row, or None.

    ``markers`` are example values of the arguments' types, unlikely to appear elsewhere in the SQL.
    """

    def __init__(self, build: Callable[..., QuerySet], *markers):
        self.build, self.markers = build, markers
        self._local = threading.local()

    def _prepare(self, using: str) -> _Prepared:
        queryset = self.build(*self.markers)
        if queryset.query.select_related or queryset._prefetch_related_lookups:
            raise ValueError("PreparedLookup reads one model or values: no select_related or prefetch_related.")
        compiler = queryset.query.get_compiler(using)
        sql, params = compiler.as_sql()
        # PostgreSQL's backend hands integers over wrapped in psycopg's own int types (Int4, Int8):
        # an argument is wrapped in the type its marker's parameter came out as.
        slots = tuple(
            (position, index, type(value))
            for position, value in enumerate(params)
            for index, marker in enumerate(self.markers)
            if isinstance(value, type(marker)) and not isinstance(value, bool) and value == marker
        )
        if sorted({index for _, index, _ in slots}) != list(range(len(self.markers))):
            raise ValueError("Every marker must reach the SQL parameters unchanged (use exact lookups).")
        init_list, model_slice = [], slice(0, 0)
        if issubclass(queryset._iterable_class, ModelIterable):
            select_fields = compiler.klass_info["select_fields"]
            model_slice = slice(select_fields[0], select_fields[-1] + 1)
            init_list = [column[0].target.attname for column in compiler.select[model_slice]]
        elif queryset._iterable_class is not ValuesListIterable:
            raise ValueError("PreparedLookup reads model rows or values_list() tuples.")
        else:
            query = queryset.query
            in_sql = [*query.extra_select, *query.values_select, *query.annotation_select]
            if list(queryset._fields or in_sql) != in_sql:  # values_list would reorder its columns
                raise ValueError("List values_list() fields in the SQL's order: fields, then annotations.")
        converters = compiler.get_converters([column[0] for column in compiler.select])
        return _Prepared(
            sql, tuple(params), slots, compiler, converters, init_list, model_slice, compiler.annotation_col_map
        )

    def _prepared(self, using: str) -> _Prepared:
        cache = self._local.__dict__.setdefault("by_alias", {})
        prepared = cache.get(using)
        if prepared is None:
            prepared = cache[using] = self._prepare(using)
        return prepared

    def row(self, *args, using: str = DEFAULT_DB_ALIAS) -> tuple | None:
        """The first row, converted, as a tuple of the selected columns; None if there is none."""
        return self._row(self._prepared(using), args, using)

    def _row(self, prepared: _Prepared, args, using: str):
        params = list(prepared.params)
        for position, index, kind in prepared.slots:
            params[position] = kind(args[index])
        with connections[using].cursor() as cursor:
            cursor.execute(prepared.sql, params)
            row = cursor.fetchone()
        if row is not None and prepared.converters:
            row = tuple(next(iter(prepared.compiler.apply_converters([row], prepared.converters))))
        return row

    def first(self, *args, using: str = DEFAULT_DB_ALIAS) -> Model | None:
        """The first row as a model instance, with the queryset's annotations; None if there is none."""
        prepared = self._prepared(using)
        if not prepared.init_list:
            raise TypeError("first() reads model rows: use row() for a values_list queryset.")
        row = self._row(prepared, args, using)
        if row is None:
            return None
        model = prepared.compiler.query.model
        instance = model.from_db(using, prepared.init_list, row[prepared.model_slice])
        for name, position in prepared.annotations.items():
            setattr(instance, name, row[position])
        return instance
