"""Which models a backup holds, in which order, and how their rows become JSON and back.

Models are discovered through Django's app registry only, so this app knows no
other app. What is never backed up, and why:

- ``sessions.*``, ``contenttypes.*`` and ``auth.Permission``: rebuilt by
  ``migrate`` (and sessions are worthless on another server). Rows pointing at
  content types or permissions are kept, through natural keys (see
  ``backups.archive``), so user and group permissions and the admin log survive
  a move to a new server.
- ``backups.*``: the record of backups. Restoring last month's backup must not
  forget the backups made since, nor resurrect records of deleted files.

``--exclude-audit`` also leaves out the audit and log models named in the
setting ``BACKUP_AUDIT_MODELS`` (models not installed yet are ignored) and any
model whose class sets ``backup_audit = True``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models

ALWAYS_EXCLUDED_APPS = {"sessions", "contenttypes", "backups"}
ALWAYS_EXCLUDED_MODELS = {"auth.permission"}


class SelectionError(ValueError):
    """The apps asked for do not exist or hold nothing to back up."""


def audit_labels() -> set[str]:
    """Lower-case labels of the audit/log models, installed or not."""
    labels = {label.lower() for label in getattr(settings, "BACKUP_AUDIT_MODELS", [])}
    for model in django_apps.get_models(include_auto_created=True):
        if getattr(model, "backup_audit", False):
            labels.add(model._meta.label_lower)
    return labels


def _backupable(model: type[models.Model]) -> bool:
    opts = model._meta
    return bool(
        opts.managed
        and not opts.proxy
        and not opts.swapped
        and opts.app_label not in ALWAYS_EXCLUDED_APPS
        and opts.label_lower not in ALWAYS_EXCLUDED_MODELS
    )


def existing_tables(using: str = DEFAULT_DB_ALIAS) -> set[str]:
    """Tables present in the database (a model whose migration is not written yet has none)."""
    return set(connections[using].introspection.table_names())


def select_models(
    app_labels: Iterable[str] | None = None,
    *,
    exclude_audit: bool = False,
    using: str = DEFAULT_DB_ALIAS,
) -> list[type[models.Model]]:
    """The models to back up, in dependency order (a model after those it points to).

    Models without a table yet are left out: they hold no rows.
    """
    wanted = set(app_labels or [])
    installed = {config.label for config in django_apps.get_app_configs()}
    unknown = wanted - installed
    if unknown:
        raise SelectionError(f"Unknown app(s): {', '.join(sorted(unknown))}.")
    refused = wanted & ALWAYS_EXCLUDED_APPS
    if refused:
        raise SelectionError(
            f"App(s) never backed up (rebuilt by migrate or own records): "
            f"{', '.join(sorted(refused))}."
        )
    skip = audit_labels() if exclude_audit else set()
    tables = existing_tables(using)
    chosen = [
        model
        for model in django_apps.get_models(include_auto_created=True)
        if _backupable(model)
        and model._meta.db_table in tables
        and (not wanted or model._meta.app_label in wanted)
        and model._meta.label_lower not in skip
    ]
    if not chosen:
        raise SelectionError("Nothing to back up in the chosen apps.")
    return dependency_order(chosen)


def dependency_order(chosen: list[type[models.Model]]) -> list[type[models.Model]]:
    """Sort models so that each comes after the models its foreign keys point to.

    Ties are broken by label so the order is stable; a cycle (rare, and
    harmless because the constraints are deferred to commit) is broken by label.
    """
    by_label = {m._meta.label_lower: m for m in chosen}
    needs: dict[str, set[str]] = {}
    for label, model in by_label.items():
        targets = set()
        for f in model._meta.local_concrete_fields:
            if f.is_relation and f.related_model is not None:
                target = f.related_model._meta.concrete_model._meta.label_lower
                if target in by_label and target != label:
                    targets.add(target)
        needs[label] = targets
    ordered: list[str] = []
    remaining = dict(needs)
    while remaining:
        ready = sorted(label for label, deps in remaining.items() if not deps - set(ordered))
        if not ready:
            ready = [sorted(remaining)[0]]
        for label in ready:
            ordered.append(label)
            del remaining[label]
    return [by_label[label] for label in ordered]


def model_for(label: str) -> type[models.Model] | None:
    """The installed model with this lower-case label, auto-created through tables included."""
    app_label, _, name = label.partition(".")
    try:
        return django_apps.get_model(app_label, name)
    except LookupError:
        return None


def is_backupable_label(label: str) -> bool:
    model = model_for(label)
    return model is not None and _backupable(model)


# --- natural keys for per-database ids ----------------------------------------------------


def _content_type_model() -> type[models.Model]:
    return django_apps.get_model("contenttypes", "ContentType")


def _permission_model() -> type[models.Model] | None:
    try:
        return django_apps.get_model("auth", "Permission")
    except LookupError:
        return None


class NaturalKeys:
    """Turns content-type and permission ids into natural keys and back, with caches."""

    def __init__(self) -> None:
        self.content_type = _content_type_model()
        self.permission = _permission_model()
        self._out: dict[type[models.Model], dict[int, list[str]]] = {}
        self._in: dict[type[models.Model], dict[tuple[str, ...], int]] = {}

    def mapped_target(self, f: models.Field) -> type[models.Model] | None:
        """The per-database model ``f`` points to, or None for an ordinary field."""
        if not f.is_relation or f.related_model is None:
            return None
        if f.related_model in (self.content_type, self.permission):
            return f.related_model
        return None

    def _load(self, target: type[models.Model]) -> None:
        out: dict[int, list[str]] = {}
        if target is self.content_type:
            for pk, app_label, model in target.objects.values_list("pk", "app_label", "model"):
                out[pk] = [app_label, model]
        else:
            rows = target.objects.values_list(
                "pk", "codename", "content_type__app_label", "content_type__model"
            )
            for pk, codename, app_label, model in rows:
                out[pk] = [codename, app_label, model]
        self._out[target] = out
        self._in[target] = {tuple(key): pk for pk, key in out.items()}

    def to_key(self, target: type[models.Model], pk: int | None) -> list[str] | None:
        if pk is None:
            return None
        if target not in self._out:
            self._load(target)
        return self._out[target].get(pk)

    def to_pk(self, target: type[models.Model], key: Any) -> int | None:
        if key is None:
            return None
        if target not in self._in:
            self._load(target)
        return self._in[target].get(tuple(key))


def concrete_fields(model: type[models.Model]) -> list[models.Field]:
    """The columns of the model's own table (a child's parent link included)."""
    return list(model._meta.local_concrete_fields)
