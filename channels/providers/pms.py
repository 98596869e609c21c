"""The base of a PMS provider (mock, Cloudbeds, Mews, OPERA Cloud): what they share.

A PMS holds every reservation of the hotel: Pema's are written into it
(``push_reservation``/``cancel_reservation``), and its own are read back
(``fetch_reservations``, or its webhooks), with its rooms and guest profiles
(``fetch_rooms``, ``fetch_guests``). The engine counts it as a PMS through
its :meth:`capabilities` (it takes reservations, it is sent rooms offered);
``pms.sync`` reads what :attr:`pms_entities` says it can.

Settings and credentials have required fields (``settings_fields``,
``credential_fields``) and optional ones (``optional_settings``,
``optional_credentials``); every PMS may carry a ``webhook_secret``, the token
its booking webhook (``/api/v1/pms/<provider>/bookings/``) is checked against.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar

from channels.interface import Capabilities, PricingModel

from .base import NotSupported, Provider

if TYPE_CHECKING:
    from channels.interface import ChangeBatch, InboundReservation

WEBHOOK_SECRET = "webhook_secret"


class PmsProvider(Provider):
    """A PMS: it takes Pema's reservations and reports its own, its rooms and its guests."""

    limit_nets_reservations = False
    pms_entities: ClassVar[frozenset[str]] = frozenset({"bookings", "rooms", "guests"})
    #: Optional keys of ``Connection.settings`` -> what they mean.
    optional_settings: ClassVar[dict[str, str]] = {}
    #: Optional keys of ``Connection.credentials`` -> what they mean.
    optional_credentials: ClassVar[dict[str, str]] = {
        WEBHOOK_SECRET: "Webhook secret (the booking webhook's x-provider-token)"
    }

    @classmethod
    def validate_settings(cls, values: dict) -> list[str]:
        return cls._validate_optional(values, cls.settings_fields, cls.optional_settings, "setting")

    @classmethod
    def validate_credentials(cls, values: dict) -> list[str]:
        return cls._validate_optional(
            values, cls.credential_fields, cls.optional_credentials, "credential"
        )

    @classmethod
    def _validate_optional(
        cls, values: dict, required: dict[str, str], optional: dict[str, str], what: str
    ) -> list[str]:
        if not isinstance(values, dict):
            return [f"The {what}s must be a JSON object."]
        known = {k: v for k, v in values.items() if k in required}
        errors = cls._validate(known, required, what)
        allowed = {**required, **optional}
        errors += [f"Unknown {what} {name!r}." for name in values if name not in allowed]
        errors += [
            f"The {what} {name!r} must be text."
            for name in optional
            if name in values and not isinstance(values[name], str)
        ]
        return errors

    # ------------------------------------------------------------------ change queues
    #: True: an incremental bookings sync reads the PMS's change queue (:meth:`poll_changes`,
    #: destructive: each batch is stored first) and then the reservations it names
    #: (:meth:`read_reservations`), because the PMS has no "changed since" filter (OPERA).
    polls_changes: ClassVar[bool] = False

    def poll_changes(self) -> ChangeBatch:
        """Take the next batch of change notices off the PMS's queue (it is gone there)."""
        raise NotSupported(f"{type(self).__name__} has no change queue.")

    def read_reservations(
        self, partner_reservation_ids: Sequence[str]
    ) -> Iterator[Sequence[InboundReservation]]:
        """These reservations as the PMS holds them now, a page at a time."""
        raise NotSupported(f"{type(self).__name__} reads no reservations by id.")

    def setting(self, name: str, default: str = "") -> str:
        value = (self.connection.settings or {}).get(name, default)
        return value if isinstance(value, str) and value else default

    def credential(self, name: str, default: str = "") -> str:
        value = (self.connection.credentials or {}).get(name, default)
        return value if isinstance(value, str) and value else default

    def capabilities(self) -> Capabilities:
        # A PMS: it takes every reservation and counts them itself (rooms offered, not left).
        return Capabilities(
            nets_reservations=False,
            pricing_model=PricingModel.PER_ROOM,
            exports_reservations=True,
        )
