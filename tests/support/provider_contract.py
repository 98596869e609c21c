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
        def fake_ari(self, rsps, connection): ...

The operations are checked too: every provider keeps the base class's
signatures and has no ``deliver``; what it offers matches its
``Capabilities`` (an operation it does not offer raises ``NotSupported``
without a call); ARI pushes work against the fake (``fake_ari``), carry the
job's message id (so a retry is recognisable) and are logged against the job
the engine binds; an outage is transient, refused credentials permanent.
Providers that take reservations answer ``fake_reservation``, pull partners
``fake_pull`` and ``fake_ack`` (``acknowledges = False``: a partner with no
acknowledgement, Agoda, offers none and its messages carry no ack token),
push partners ``fake_webhook``; a pull partner with ``reservation_hints``
offers ``verify_webhook``, ``webhook_hints`` and ``fetch_hinted_reservations`` and
answers ``fake_webhook`` with a hint.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import replace
from datetime import timedelta
from typing import ClassVar

import pytest
import responses

from channels.interface import (
    Acknowledgement,
    AvailabilityItem,
    Capabilities,
    DateSpan,
    DeliveryResult,
    GuestDetails,
    InboundReservation,
    Night,
    PullResult,
    RateItem,
    ReservationFlow,
    ReservationMessage,
    RestrictionItem,
    RoomStayMessage,
    WebhookRequest,
)
from channels.models import Connection, SyncJob
from channels.providers import provider_choices, provider_class, registry
from channels.providers.base import (
    NotSupported,
    PermanentError,
    Provider,
    TransientError,
    Unauthorised,
    WebhookRefused,
)
from tests.factories import sellable_hotel

#: The operations of ``channels/interface.py`` a provider implements (or leaves to
#: the base class, which says ``NotSupported``).
OPERATIONS = (
    "push_availability",
    "push_rates",
    "push_reservation",
    "cancel_reservation",
    "pull_reservations",
    "acknowledge",
    "verify_webhook",
    "parse_webhook",
    "webhook_hints",
    "fetch_hinted_reservations",
    "webhook_reply",
    "test_connection",
)
ANY_URL = re.compile(r".*")


class ProviderContract:
    """Registry lookup, settings and credentials validation, capabilities, test_connection."""

    key: ClassVar[str] = ""
    base_url: ClassVar[str] = "http://partner.test"
    settings: ClassVar[dict] = {}
    credentials: ClassVar[dict] = {}
    #: Settings the provider must refuse (None: it takes no settings worth refusing).
    bad_settings: ClassVar[dict | None] = None

    #: The partner's ids the contract's ARI items and reservations carry (the engine maps).
    partner_room_id: ClassVar[str] = "ROOM1"
    partner_rate_id: ClassVar[str] = "RATE1"
    #: The partner takes ARI (every channel and PMS so far but Airbnb, which reads a feed).
    takes_ari: ClassVar[bool] = True
    #: A pull partner expects acknowledgements (a feed partner, such as Airbnb's iCalendar,
    #: expects none: its messages carry no ack token, so ``acknowledge`` is never called).
    #: (Pull partners.) The partner is told which pulled messages were applied.
    acknowledges: ClassVar[bool] = True

    def fake_partner(self, rsps: responses.RequestsMock, connection: Connection) -> None:
        """Register what the partner answers ``test_connection`` with."""
        raise NotImplementedError

    def fake_ari(self, rsps: responses.RequestsMock, connection: Connection) -> None:
        """Register the partner's success answers to availability and rate pushes."""
        raise NotImplementedError

    def fake_reservation(
        self, rsps: responses.RequestsMock, connection: Connection, reference: str
    ) -> None:
        """(Partners that take reservations.) Answer create, modify and cancel with
        ``reference`` as the partner's id of the reservation."""
        raise NotImplementedError

    def fake_pull(self, rsps: responses.RequestsMock, connection: Connection) -> None:
        """(Pull partners.) Register a pull answer holding at least one reservation."""
        raise NotImplementedError

    def fake_ack(self, rsps: responses.RequestsMock, connection: Connection) -> None:
        """(Pull partners.) Register the partner's success answer to acknowledgements."""
        raise NotImplementedError

    def fake_webhook(self, connection: Connection) -> WebhookRequest:
        """(Push partners.) A genuine push of at least one reservation, as received now."""
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

    # ------------------------------------------------------------------ operations
    @staticmethod
    def offers(cls: type[Provider], operation: str) -> bool:
        return getattr(cls, operation) is not getattr(Provider, operation)

    def test_operations_keep_the_interface(self) -> None:
        cls = provider_class(self.key)
        assert not hasattr(cls, "deliver"), "providers implement operations, not deliver(job)"
        for operation in OPERATIONS:
            mine = inspect.signature(getattr(cls, operation))
            base = inspect.signature(getattr(Provider, operation))
            assert [(p.name, p.kind) for p in mine.parameters.values()] == [
                (p.name, p.kind) for p in base.parameters.values()
            ], f"{operation} keeps the base class's signature"

    def test_what_it_offers_matches_its_capabilities(self, connection) -> None:
        cls = provider_class(self.key)
        provider = connection.get_provider()
        caps = provider.capabilities()
        assert self.offers(cls, "test_connection")
        pairs = {
            "ari": (self.takes_ari, ("push_availability", "push_rates")),
            "reservations": (
                caps.exports_reservations,
                ("push_reservation", "cancel_reservation"),
            ),
            "pull": (caps.reservations == ReservationFlow.PULL, ("pull_reservations",)),
            "ack": (
                caps.reservations == ReservationFlow.PULL and self.acknowledges,
                ("acknowledge",),
            ),
            "push": (caps.reservations == ReservationFlow.PUSH, ("parse_webhook",)),
            "verify": (
                caps.reservations == ReservationFlow.PUSH or caps.reservation_hints,
                ("verify_webhook",),
            ),
            "hints": (caps.reservation_hints, ("webhook_hints", "fetch_hinted_reservations")),
        }
        for what, (offered, operations) in pairs.items():
            for operation in operations:
                assert self.offers(cls, operation) == offered, f"{what}: {operation}"
        message = self.reservation_message(connection)
        with responses.RequestsMock():  # what it does not offer makes no call
            if not caps.exports_reservations:
                with pytest.raises(NotSupported):
                    provider.push_reservation(message, message_id="pema-contract-1")
                with pytest.raises(NotSupported):
                    provider.cancel_reservation(message, message_id="pema-contract-1")
            if caps.reservations != ReservationFlow.PULL:
                with pytest.raises(NotSupported):
                    provider.pull_reservations()

    # -- values the contract sends --

    def ari_items(self, connection) -> tuple[list, list]:
        today = connection.hotel.today()
        span = DateSpan(today, today + timedelta(days=2))
        ids = {"partner_room_id": self.partner_room_id}
        rate_ids = {**ids, "partner_rate_id": self.partner_rate_id}
        return (
            [
                AvailabilityItem(span=span, room_type="EXT", rooms_to_sell=3, **ids),
                RestrictionItem(
                    span=span,
                    room_type="EXT",
                    rate_plan="BAR",
                    closed_to_arrival=True,
                    min_stay_arrival=2,
                    min_stay_through=1,
                    max_stay=7,
                    **rate_ids,
                ),
            ],
            [
                RateItem(
                    span=span,
                    room_type="EXT",
                    rate_plan="BAR",
                    price=12345,
                    currency=connection.hotel.currency,
                    **rate_ids,
                )
            ],
        )

    def reservation_message(self, connection, reference: str = "") -> ReservationMessage:
        check_in = connection.hotel.today() + timedelta(days=5)
        check_out = check_in + timedelta(days=2)
        return ReservationMessage(
            confirmation_number="PEMA-CONTRACT-1",
            status="confirmed",
            version=1,
            currency=connection.hotel.currency,
            total=24000,
            guest=GuestDetails(given_name="Asha", surname="Rao", email="asha@example.com"),
            rooms=(
                RoomStayMessage(
                    room_type="EXT",
                    rate_plan="BAR",
                    partner_room_id=self.partner_room_id,
                    partner_rate_id=self.partner_rate_id,
                    check_in=check_in,
                    check_out=check_out,
                    adults=2,
                    nights=(Night(check_in, 12000), Night(check_in + timedelta(days=1), 12000)),
                ),
            ),
            partner_reference=reference,
            check_in=check_in,
            check_out=check_out,
            adults=2,
        )

    @staticmethod
    def carries(call, message_id: str) -> bool:
        body = call.request.body or b""
        body = body.decode() if isinstance(body, bytes) else body
        return message_id in body or any(message_id in v for v in call.request.headers.values())

    # -- the operations against the fake --

    def test_ari_pushes_against_a_fake(self, connection) -> None:
        if not self.takes_ari:
            pytest.skip("this partner takes no ARI")
        availability, rates = self.ari_items(connection)
        provider = connection.get_provider()
        job = SyncJob.objects.create(
            connection=connection, stream=SyncJob.ARI_STREAM, kind=SyncJob.Kind.AVAILABILITY
        )
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            self.fake_ari(rsps, connection)
            with provider.sending(job):
                pushed = provider.push_availability(availability, message_id=job.message_id)
            priced = provider.push_rates(rates, message_id="pema-contract-rates")
            calls = list(rsps.calls)
        for result in (pushed, priced):
            assert isinstance(result, DeliveryResult) and not result.skipped
        assert calls, "the partner was called"
        assert any(self.carries(c, job.message_id) for c in calls), "a retry is recognisable"
        assert any(self.carries(c, "pema-contract-rates") for c in calls)
        assert connection.logs.filter(job=job).exists(), "the engine's job is on its log rows"
        assert connection.logs.filter(job=None).exists(), "a call outside a job is logged too"

    @pytest.mark.parametrize(
        ("status", "error"), [(503, TransientError), (429, TransientError), (401, Unauthorised)]
    )
    def test_an_outage_is_transient_and_refused_credentials_permanent(
        self, connection, status, error
    ) -> None:
        if not self.takes_ari:
            pytest.skip("this partner takes no ARI")
        availability, _ = self.ari_items(connection)
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            for method in (responses.GET, responses.POST, responses.PUT):
                rsps.add(method, ANY_URL, status=status)
            with pytest.raises(error):
                connection.get_provider().push_availability(
                    availability, message_id="pema-contract-down"
                )
        if status == 401:
            assert issubclass(error, PermanentError)

    def test_reservations_against_a_fake(self, connection) -> None:
        provider = connection.get_provider()
        if not provider.capabilities().exports_reservations:
            pytest.skip("this partner takes no reservations from Pema")
        message = self.reservation_message(connection)
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            self.fake_reservation(rsps, connection, "PARTNER-77")
            created = provider.push_reservation(message, message_id="pema-contract-create")
            held = replace(message, partner_reference="PARTNER-77", version=2)
            modified = provider.push_reservation(held, message_id="pema-contract-modify")
            cancelled = provider.cancel_reservation(
                replace(held, status="cancelled", version=3), message_id="pema-contract-cancel"
            )
            calls = list(rsps.calls)
        assert created.partner_references == {message.confirmation_number: "PARTNER-77"}
        for result in (modified, cancelled):
            assert isinstance(result, DeliveryResult) and not result.skipped
        assert len(calls) >= 3
        for message_id in ("create", "modify", "cancel"):
            assert any(self.carries(c, f"pema-contract-{message_id}") for c in calls)

    def test_pull_and_acknowledge_against_a_fake(self, connection) -> None:
        provider = connection.get_provider()
        if provider.capabilities().reservations != ReservationFlow.PULL:
            pytest.skip("this partner is not pulled")
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            self.fake_pull(rsps, connection)
            result = provider.pull_reservations()
        assert isinstance(result, PullResult)
        assert result.reservations, "the fake's reservation is read"
        assert all(isinstance(r, InboundReservation) for r in result.reservations)
        if not self.acknowledges:
            assert not any(r.ack_token for r in result.reservations), "nothing to acknowledge"
            return
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            self.fake_ack(rsps, connection)
            # The engine hands the local confirmation numbers (Expedia's BC carries them).
            numbers = {r.partner_reservation_id: "PEMA-CONTRACT-1" for r in result.reservations}
            provider.acknowledge(
                Acknowledgement(applied=result.reservations, confirmation_numbers=numbers)
            )
            assert rsps.calls, "the acknowledgement reached the partner"

    def test_hints_are_verified_then_name_what_to_fetch(self, connection) -> None:
        provider = connection.get_provider()
        if not provider.capabilities().reservation_hints:
            pytest.skip("this partner sends no hints")
        request = self.fake_webhook(connection)
        provider.verify_webhook(request)
        named = provider.webhook_hints(request)
        assert named and all(isinstance(i, str) and i for i in named)
        with pytest.raises(WebhookRefused):  # without its token or signature
            provider.verify_webhook(replace(request, headers={}, query={}))
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            self.fake_pull(rsps, connection)
            fetched = provider.fetch_hinted_reservations(named)
        assert isinstance(fetched, PullResult) and fetched.reservations

    def test_webhooks_are_verified_then_parsed(self, connection) -> None:
        provider = connection.get_provider()
        if provider.capabilities().reservations != ReservationFlow.PUSH:
            pytest.skip("this partner does not push")
        request = self.fake_webhook(connection)
        provider.verify_webhook(request)
        parsed = provider.parse_webhook(request)
        assert parsed and all(isinstance(r, InboundReservation) for r in parsed)
        with pytest.raises(WebhookRefused):  # without its token or signature
            provider.verify_webhook(replace(request, headers={}, query={}))
