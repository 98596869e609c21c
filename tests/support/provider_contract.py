"""The contract every provider keeps, as a battery of tests a provider's test class inherits.

A partner's tests subclass :class:`ProviderContract`, name the provider's key,
give valid settings and credentials, and say how to fake the partner for
``test_connection`` (with ``responses``, so the real HTTP client is used)::

    class TestBookingComContract(ProviderContract):
        key = "booking_com"
        settings = {"min_stay_mode": "through"}
        credentials = {"username": "u", "password": "p", "hotel_id": "1"}
        bad_settings = {"min_stay_mode": "sometimes"}

        def fake_partner(self, rsps, connection): ...
"""

from __future__ import annotations

from typing import ClassVar

import pytest
import responses

from channels.interface import Capabilities, ReservationFlow
from channels.models import Connection
from channels.providers import provider_choices, provider_class, registry
from channels.providers.base import Provider
from tests.factories import sellable_hotel


class ProviderContract:
    """Registry lookup, settings and credentials validation, capabilities, test_connection."""

    key: ClassVar[str] = ""
    base_url: ClassVar[str] = "http://partner.test"
    settings: ClassVar[dict] = {}
    credentials: ClassVar[dict] = {}
    #: Settings the provider must refuse (None: it takes no settings worth refusing).
    bad_settings: ClassVar[dict | None] = None

    def fake_partner(self, rsps: responses.RequestsMock, connection: Connection) -> None:
        """Register what the partner answers ``test_connection`` with."""
        raise NotImplementedError

    @pytest.fixture
    def connection(self, db) -> Connection:
        hotel = sellable_hotel(code=f"C{self.key[:8].upper()}", days=3)
        return Connection.objects.create(
            hotel=hotel,
            provider=self.key,
            name=f"{self.key} contract",
            base_url=self.base_url,
            settings=dict(self.settings),
            credentials=dict(self.credentials),
        )

    def test_registered(self) -> None:
        cls = provider_class(self.key)
        assert issubclass(cls, Provider)
        assert cls.key == self.key
        assert self.key in registry()
        assert self.key in dict(provider_choices())
        assert cls.label, "a provider has a label for staff"

    def test_settings_validation(self) -> None:
        cls = provider_class(self.key)
        assert cls.validate_settings(dict(self.settings)) == []
        assert cls.validate_settings({**self.settings, "no_such_setting": "x"})
        assert cls.validate_settings([]) != []  # not a JSON object
        if self.bad_settings is not None:
            assert cls.validate_settings(dict(self.bad_settings))

    def test_credentials_validation(self) -> None:
        cls = provider_class(self.key)
        assert cls.validate_credentials(dict(self.credentials)) == []
        for name in cls.credential_fields:
            missing = {k: v for k, v in self.credentials.items() if k != name}
            errors = cls.validate_credentials(missing)
            assert any(repr(name) in e for e in errors), errors

    def test_capabilities(self, connection) -> None:
        caps = connection.get_provider().capabilities()
        assert isinstance(caps, Capabilities)
        assert caps.max_items_per_request >= 1 and caps.horizon_days >= 1
        if caps.reservations == ReservationFlow.PULL:
            assert caps.pull_interval_seconds, "a pull partner says how often to pull"

    def test_test_connection_against_a_fake(self, connection) -> None:
        with responses.RequestsMock() as rsps:
            self.fake_partner(rsps, connection)
            summary = connection.get_provider().test_connection()
        assert isinstance(summary, str) and summary
        assert connection.logs.exists(), "the call is in the sync log"
