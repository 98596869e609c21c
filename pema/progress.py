"""Progress of long work started from the admin (a backup, a restore, a full sync, a pull).

The page that starts the work makes a record (:func:`start`) and hands its token
to the Celery task with the ids it works on. The task reports as it goes
(:func:`reporter` speaks the ``progress_factory(label, total) -> step(rows)``
shape that ``backups.service`` takes; :func:`update` sets figures directly) and
ends it with :func:`finish` or :func:`fail`. The page polls a small status
endpoint (htmx) that draws the bar from :func:`get`.

Records live in the cache, not in a table, on purpose: a backup reads inside one
snapshot transaction and a restore writes inside one, so a row updated from
within them would stay invisible to the page until the end, and a restore in
replace mode would empty it. The cache is shared by the web and worker processes
(Redis, or the file cache of the embedded setup). A record lasts a day.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.core.cache import cache

KEY = "progress:{token}"
TTL_SECONDS = 24 * 3600
# A step redraws the record at most this often (a restore steps per batch of rows).
WRITE_EVERY_SECONDS = 0.3

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass
class Progress:
    """One piece of long work: how far it is, and how it ended."""

    token: str
    kind: str
    label: str
    owner_id: int | None = None
    status: str = QUEUED
    step: str = ""
    done: int = 0
    total: int = 0
    message: str = ""
    link: str = ""
    started: float = field(default_factory=time.time)

    @property
    def finished(self) -> bool:
        return self.status in (DONE, FAILED)

    @property
    def percent(self) -> int:
        if self.status == DONE:
            return 100
        if not self.total:
            return 0
        return min(int(self.done * 100 / self.total), 100)


def _save(record: Progress) -> None:
    cache.set(KEY.format(token=record.token), asdict(record), TTL_SECONDS)


def get(token: str) -> Progress | None:
    """The record of ``token``, or None when unknown or expired."""
    data = cache.get(KEY.format(token=token))
    return Progress(**data) if isinstance(data, dict) else None


def start(kind: str, label: str, *, owner_id: int | None = None, link: str = "") -> Progress:
    """A new record, queued; its ``token`` goes to the task."""
    record = Progress(token=uuid.uuid4().hex, kind=kind, label=label, owner_id=owner_id, link=link)
    _save(record)
    return record


def update(token: str | None, **figures) -> None:
    """Set figures of a running record (``step``, ``done``, ``total``, ``message``)."""
    if not token:
        return
    record = get(token)
    if record is None:
        return
    for name, value in figures.items():
        setattr(record, name, value)
    if record.status == QUEUED:
        record.status = RUNNING
    _save(record)


def finish(token: str | None, message: str = "", *, link: str = "") -> None:
    """Mark the record done."""
    _end(token, DONE, message, link)


def fail(token: str | None, message: str) -> None:
    """Mark the record failed, saying why."""
    _end(token, FAILED, message, "")


def _end(token: str | None, status: str, message: str, link: str) -> None:
    if not token:
        return
    record = get(token)
    if record is None:
        return
    record.status, record.message = status, message
    if link:
        record.link = link
    if status == DONE and record.total:
        record.done = record.total
    _save(record)


def reporter(token: str | None) -> Callable[[str, int], Callable[[int], None]] | None:
    """A ``progress_factory`` writing to the record of ``token`` (None when no token)."""
    if not token:
        return None

    def make(step: str, total: int) -> Callable[[int], None]:
        state = {"done": 0, "written": 0.0}
        update(token, step=step, done=0, total=total)

        def advance(rows: int) -> None:
            state["done"] += rows
            now = time.monotonic()
            if now - state["written"] >= WRITE_EVERY_SECONDS or state["done"] >= total:
                state["written"] = now
                update(token, done=state["done"])

        return advance

    return make


def visible_to(record: Progress | None, user) -> bool:
    """Whether ``user`` may follow ``record``: who started it, or a superuser."""
    if record is None or not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or record.owner_id == user.pk


def from_request(request) -> Progress | None:
    """The record an admin page was opened for (``?progress=<token>``), if the user may
    follow it. The parameter is taken out of ``request.GET``: a changelist would read it
    as a filter."""
    token = request.GET.get("progress", "")
    if "progress" in request.GET:
        request.GET = request.GET.copy()
        del request.GET["progress"]
    record = get(token) if token.isalnum() else None
    return record if visible_to(record, request.user) else None
