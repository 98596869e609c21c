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


def _where(
    model: type[Model], lookups: tuple[tuple[str, int], ...]
) -> tuple[str, tuple[Field, ...]]:
    """The WHERE condition for ``lookups`` and the fields of the values it binds, in order."""
    qn = connection.ops.quote_name
    by_name = _fields(model)
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
    return " AND ".join(conditions) or "TRUE", tuple(bound)


def _bind(lookups: dict[str, Any]) -> tuple[tuple[tuple[str, int], ...], list] | None:
    """(lookup names with how many values each binds, the values); None for an empty IN."""
    counts, values = [], []
    for key, value in lookups.items():
        if key.endswith("__in"):
            value = [getattr(v, "pk", v) for v in value]
            if not value:
                return None
            counts.append((key, len(value)))
            values.extend(value)
        else:
            counts.append((key, 1))
            values.append(getattr(value, "pk", value))
    return tuple(counts), values


@functools.lru_cache(maxsize=256)
def _select_statement(
    vendor: str,
    model: type[Model],
    fields: tuple[str, ...],
    lookups: tuple[tuple[str, int], ...],
    order_by: tuple[str, ...] = (),
    for_update: bool = False,
) -> tuple[str, tuple[Field, ...], tuple[list, ...]]:
    """The statement, the fields of its parameters and the converters of its columns.

    Keyed by the vendor and by how many values each lookup binds (an ``IN``
    list's length), so a search builds its text once per hotel shape.
    """
    meta = model._meta
    qn = connection.ops.quote_name
    by_name = _fields(model)
    columns = [by_name[name] for name in fields]
    where, bound = _where(model, lookups)
    select = ", ".join(qn(f.column) for f in columns)
    statement = f"SELECT {select} FROM {qn(meta.db_table)} WHERE {where}"
    if order_by:
        statement += " ORDER BY " + ", ".join(qn(by_name[name].column) for name in order_by)
    if for_update and connection.features.has_select_for_update:
        # As the ORM does, nothing on SQLite, whose writers queue on the database lock.
        statement += " FOR UPDATE"
    # The same conversions the ORM applies to these columns (SQLite's dates and
    # booleans; nothing on PostgreSQL, whose driver returns them typed already).
    converters = tuple(
        connection.ops.get_db_converters(f.get_col(meta.db_table)) + f.get_db_converters(connection)
        for f in columns
    )
    return statement, bound, converters


def select_values(
    model: type[Model],
    fields: Sequence[str],
    *,
    order_by: Sequence[str] = (),
    for_update: bool = False,
    **lookups: Any,
) -> list[tuple]:
    """``model.objects.filter(**lookups).values_list(*fields).order_by(*order_by)`` as a list.

    For plain column comparisons only: a lookup is a field name alone (equality)
    or with ``__in``, ``__gt``, ``__gte``, ``__lt`` or ``__lte``. Without
    ``order_by`` rows come in no particular order. ``for_update`` locks the rows
    (``select_for_update()``; in ``order_by``'s order, so two transactions taking
    the same rows never wait on each other in a cycle). An empty ``__in`` list
    matches nothing, as in the ORM; unlike the ORM, ``None`` is compared with
    ``=`` (so matches nothing), not ``IS NULL``.
    """
    bound_lookups = _bind(lookups)
    if bound_lookups is None:
        return []
    counts, values = bound_lookups
    statement, bound, converters = _select_statement(
        connection.vendor, model, tuple(fields), counts, tuple(order_by), for_update
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


@functools.lru_cache(maxsize=256)
def _add_statement(
    vendor: str,
    model: type[Model],
    columns: tuple[str, ...],
    lookups: tuple[tuple[str, int], ...],
) -> tuple[str, tuple[Field, ...]]:
    qn = connection.ops.quote_name
    by_name = _fields(model)
    where, bound = _where(model, lookups)
    sets = ", ".join(
        f"{qn(by_name[name].column)} = {qn(by_name[name].column)} + %s" for name in columns
    )
    return f"UPDATE {qn(model._meta.db_table)} SET {sets} WHERE {where}", bound


def add_to_columns(model: type[Model], amounts: dict[str, int], **lookups: Any) -> int:
    """``model.objects.filter(**lookups).update(name=F(name) + amount, ...)``; rows changed.

    The same plain lookups as ``select_values``. Sends no signals, as ``update()``.
    """
    bound_lookups = _bind(lookups)
    if bound_lookups is None or not amounts:
        return 0
    counts, values = bound_lookups
    statement, bound = _add_statement(connection.vendor, model, tuple(amounts), counts)
    params = [*amounts.values()]
    params += [f.get_db_prep_value(v, connection) for f, v in zip(bound, values, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def get_instance(model: type[Model], **lookups: Any) -> Model | None:
    """``model.objects.filter(**lookups).order_by("pk").first()``, for lookups of one row.

    The same plain lookups as ``select_values``; the instance is built as the
    ORM builds it (``from_db``), with every concrete field loaded.
    """
    meta = model._meta
    names = tuple(f.attname for f in meta.concrete_fields)
    rows = select_values(model, names, order_by=(meta.pk.attname,), **lookups)
    return model.from_db(connection.alias, names, rows[0]) if rows else None


@functools.lru_cache(maxsize=256)
def _insert_statement(
    vendor: str, model: type[Model], rows: int, conflict_target: str | None
) -> tuple[str, tuple[Field, ...]]:
    meta = model._meta
    qn = connection.ops.quote_name
    # The automatic primary key is the database's to give, and comes back.
    fields = tuple(f for f in meta.concrete_fields if f is not meta.auto_field)
    one = f"({', '.join(['%s'] * len(fields))})"
    statement = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
        f"VALUES {', '.join([one] * rows)}"
    )
    if conflict_target:
        statement += f" ON CONFLICT ({qn(_fields(model)[conflict_target].column)}) DO NOTHING"
    return f"{statement} RETURNING {qn(meta.pk.column)}", fields


def insert_rows(objs: Sequence[Model], *, skip_conflicts_on: str | None = None) -> int:
    """``bulk_create(objs)`` in one hand-written statement; sets each new row's primary key.

    For models with an automatic primary key. Each field's ``pre_save`` runs
    (``auto_now_add``), as in the ORM; no signals are sent, as with
    ``bulk_create``. ``skip_conflicts_on``: a field with a unique index; a row
    that collides there is not written and keeps ``pk`` None (``ON CONFLICT DO
    NOTHING`` on that index only, so any other violation still raises). Returns
    the number of rows written.
    """
    if not objs:
        return 0
    model = type(objs[0])
    statement, fields = _insert_statement(connection.vendor, model, len(objs), skip_conflicts_on)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        ids = [row[0] for row in cursor.fetchall()]
    if skip_conflicts_on is None and len(ids) != len(objs):
        raise RuntimeError(f"{len(objs)} rows sent, {len(ids)} written")
    if skip_conflicts_on is not None:
        # Only the rows written come back: a single row is the one sent, or none.
        if len(objs) != 1:
            raise ValueError("skip_conflicts_on takes one row at a time")
        ids = ids or [None]
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        if pk is not None:
            obj._state.adding = False
            obj._state.db = connection.alias
    return sum(pk is not None for pk in ids)


@functools.lru_cache(maxsize=256)
def _update_statement(
    vendor: str, model: type[Model], names: tuple[str, ...]
) -> tuple[str, tuple[Field, ...]]:
    qn = connection.ops.quote_name
    by_name = _fields(model)
    fields = tuple(by_name[name] for name in names)
    sets = ", ".join(f"{qn(f.column)} = %s" for f in fields)
    pk = qn(model._meta.pk.column)
    return f"UPDATE {qn(model._meta.db_table)} SET {sets} WHERE {pk} = %s", fields


def save_fields(obj: Model, names: Sequence[str]) -> int:
    """``obj.save(update_fields=names)`` as one hand-written UPDATE; rows changed.

    Writes the named fields' current values (through each field's ``pre_save``,
    so ``auto_now`` stamps as in the ORM). No signals are sent.
    """
    statement, fields = _update_statement(connection.vendor, type(obj), tuple(names))
    params = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in fields]
    params.append(obj._meta.pk.get_db_prep_value(obj.pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount
