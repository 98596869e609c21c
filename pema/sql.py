"""Small statements written by hand where the ORM's cost to build them dominates.

Building a query through the ORM costs some 0.5 to 1 ms of CPU on this
project's machines, about ten times a round trip to PostgreSQL on the same
host. For the few yes/no questions asked on every booking, a plain statement
built from the model's own metadata is the same question at a tenth of the cost.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, Model


@functools.cache
def _fields(model: type[Model]) -> dict[str, Field]:
    """Concrete fields by name and by attribute name (``hotel`` and ``hotel_id``)."""
    return {name: f for f in model._meta.concrete_fields for name in (f.attname, f.name)}


def row_exists(model: type[Model], **equals: Any) -> bool:
    """``model.objects.filter(**equals).exists()`` for plain column equalities only.

    Keyword names are the model's field names (``hotel_id`` or ``hotel`` for a
    foreign key); values go through the field's own conversion to the database.
    """
    meta = model._meta
    qn = connection.ops.quote_name
    fields = _fields(model)
    conditions, params = [], []
    for name, value in equals.items():
        field = fields[name]
        if field.is_relation:
            value = getattr(value, "pk", value)  # a model instance or its id
        conditions.append(f"{qn(field.column)} = %s")
        params.append(field.get_db_prep_value(value, connection))
    where = " AND ".join(conditions) or "TRUE"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {qn(meta.db_table)} WHERE {where} LIMIT 1", params)
        return cursor.fetchone() is not None


_OPERATORS = {"exact": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "in": "IN"}


@functools.lru_cache(maxsize=256)
def _select_statement(
    vendor: str, model: type[Model], fields: tuple[str, ...], lookups: tuple[tuple[str, int], ...]
) -> tuple[str, tuple[Field, ...], tuple[list, ...]]:
    """The statement, the fields of its parameters and the converters of its columns.

    Keyed by the vendor and by how many values each lookup binds (an ``IN``
    list's length), so a search builds its text once per hotel shape.
    """
    meta = model._meta
    qn = connection.ops.quote_name
    by_name = _fields(model)
    columns = [by_name[name] for name in fields]
    conditions, bound = [], []
    for key, count in lookups:
        name, _, lookup = key.partition("__")
        field = by_name[name]
        operator = _OPERATORS[lookup or "exact"]
        if operator == "IN":
            conditions.append(f"{qn(field.column)} IN ({', '.join(['%s'] * count)})")
        else:
            conditions.append(f"{qn(field.column)} {operator} %s")
        bound.extend([field] * count)
    select = ", ".join(qn(f.column) for f in columns)
    where = " AND ".join(conditions) or "TRUE"
    statement = f"SELECT {select} FROM {qn(meta.db_table)} WHERE {where}"
    # The same conversions the ORM applies to these columns (SQLite's dates and
    # booleans; nothing on PostgreSQL, whose driver returns them typed already).
    converters = tuple(
        connection.ops.get_db_converters(f.get_col(meta.db_table)) + f.get_db_converters(connection)
        for f in columns
    )
    return statement, tuple(bound), converters


def select_values(model: type[Model], fields: Sequence[str], **lookups: Any) -> list[tuple]:
    """``model.objects.filter(**lookups).values_list(*fields).order_by()`` as a list.

    For plain column comparisons only: a lookup is a field name alone (equality)
    or with ``__in``, ``__gt``, ``__gte``, ``__lt`` or ``__lte``. Rows come in no
    particular order. An empty ``__in`` list matches nothing, as in the ORM; unlike
    the ORM, ``None`` is compared with ``=`` (so matches nothing), not ``IS NULL``.
    """
    counts, values = [], []
    for key, value in lookups.items():
        if key.endswith("__in"):
            value = [getattr(v, "pk", v) for v in value]
            if not value:
                return []
            counts.append((key, len(value)))
            values.extend(value)
        else:
            counts.append((key, 1))
            values.append(getattr(value, "pk", value))
    statement, bound, converters = _select_statement(
        connection.vendor, model, tuple(fields), tuple(counts)
    )
    params = [f.get_db_prep_value(v, connection) for f, v in zip(bound, values, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    if not any(converters):
        return rows
    converted = []
    for row in rows:
        row = list(row)
        for i, column_converters in enumerate(converters):
            for convert in column_converters:
                row[i] = convert(row[i], None, connection)
        converted.append(tuple(row))
    return converted
