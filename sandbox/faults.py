"""What a sandbox is told to do wrong, per partner (kept in memory: a restart clears it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Faults:
    """The faults of one simulator; see the control API (``POST .../faults``).

    ``down`` closes the connection without an answer; ``slow_ms`` waits first;
    ``drip_ms`` sends the answer one byte every so often; ``fail_percent`` of
    calls get a 500 (deterministically: exactly that share of every 100);
    ``malformed`` answers 200 with a cut-off document; ``truncate`` applies
    the call and cuts its answer in half; ``status`` forces that HTTP status
    (with the simulator's error body); ``retry_after`` answers 429 with that
    ``Retry-After`` in seconds; ``error`` is a simulator-specific forced error
    (IDS Next: ``{"type": 3, "code": 322}``). ``methods``, when set, limits
    every fault to calls of those HTTP methods (``["POST"]``: a partner whose
    reads answer while its acknowledgements hang).
    """

    down: bool = False
    slow_ms: int = 0
    drip_ms: int = 0
    fail_percent: int = 0
    malformed: bool = False
    truncate: bool = False
    status: int | None = None
    retry_after: int | None = None
    error: dict[str, Any] | None = None
    methods: list[str] = field(default_factory=list)
    calls: int = field(default=0, repr=False)

    def update(self, values: dict[str, Any]) -> None:
        """Apply the given keys only; bad values raise ``ValueError``/``TypeError``."""
        unknown = set(values) - {f for f in self.as_dict()}
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        for name in ("down", "malformed", "truncate"):
            if name in values:
                setattr(self, name, bool(values[name]))
        for name in ("slow_ms", "drip_ms"):
            if name in values:
                setattr(self, name, max(int(values[name] or 0), 0))
        if "fail_percent" in values:
            self.fail_percent = min(max(int(values["fail_percent"] or 0), 0), 100)
        if "status" in values:
            status = values["status"]
            if status is not None and not 400 <= int(status) <= 599:
                raise ValueError("status must be an HTTP error status (400-599)")
            self.status = int(status) if status is not None else None
        if "retry_after" in values:
            value = values["retry_after"]
            self.retry_after = max(int(value), 0) if value is not None else None
        if "error" in values:
            error = values["error"]
            self.error = dict(error) if error else None
        if "methods" in values:
            methods = values["methods"] or []
            if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
                raise ValueError("methods must be a list of HTTP methods")
            self.methods = [m.upper() for m in methods]

    def applies_to(self, method: str) -> bool:
        """Whether the faults apply to a call of ``method``."""
        return not self.methods or method.upper() in self.methods

    def should_fail(self) -> bool:
        """Deterministic share: exactly ``fail_percent`` of every 100 calls fail."""
        self.calls += 1
        pct = self.fail_percent
        return (self.calls * pct) // 100 > ((self.calls - 1) * pct) // 100

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("calls")
        return data
