"""The Airbnb provider: the contract battery, settings, and the engine-facing shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from channels.interface import InboundKind, ReservationFlow
from partners.airbnb.provider import AirbnbProvider
from tests.support.provider_contract import ProviderContract

SAMPLES = Path(__file__).resolve().parents[3] / "partners" / "airbnb" / "samples"
FEED_URL = "http://airbnb.test/calendar/L1.ics"


class TestAirbnbContract(ProviderContract):
    key = "airbnb"
    base_url = "https://www.airbnb.com"
    settings = {"listings": {"L1": {"calendar_url": FEED_URL}}, "pull_interval_seconds": 600}
    credentials = {"export_secret": "s3cret-s3cret-s3cret"}
    bad_settings = {"listings": {"L 1": {"calendar_url": "ftp://nowhere"}}}
    takes_ari = False
    acknowledges = False

    def fake_partner(self, rsps, connection):
        rsps.add(responses.GET, FEED_URL, body=(SAMPLES / "airbnb_listing_feed.ics").read_bytes())

    fake_pull = fake_partner


def test_capabilities_follow_the_settings(db, settings):
    from tests.factories import sellable_hotel
    from tests.partners.airbnb.conftest import connect

    settings.AIRBNB_POLL_SECONDS = 900
    conn = connect(sellable_hotel(code="CAP", rooms={"EXT": 2, "SUI": 1}, days=3), export_days=90)
    caps = conn.get_provider().capabilities()
    assert caps.reservations == ReservationFlow.PULL
    assert (caps.pull_interval_seconds, caps.horizon_days) == (900, 90)
    assert not conn.push_ari and not conn.export_reservations


@pytest.mark.parametrize(
    "bad",
    [
        {"listings": []},
        {"listings": {"L1": {"calendar_url": "not a url"}}},
        {"listings": {"L1": {"calendar_url": FEED_URL, "price": 1}}},
        {"pull_interval_seconds": 0},
        {"max_feed_bytes": True},
    ],
)
def test_bad_settings_are_refused_with_a_reason(bad):
    errors = AirbnbProvider.validate_settings(bad)
    assert errors and all(isinstance(e, str) and e for e in errors)


def test_limits_are_stated_for_staff(db):
    from tests.factories import sellable_hotel
    from tests.partners.airbnb.conftest import LISTING, connect

    conn = connect(sellable_hotel(code="LIM", rooms={"EXT": 2, "SUI": 1}, days=3))
    notes = conn.get_provider().staff_notes()
    assert "name, contact details or price" in notes and "poll interval" in notes
    assert f"/ical/{conn.uuid}/{LISTING}.ics?t=" in notes


def test_the_pull_hands_the_engine_a_snapshot_and_new_messages(db):
    from tests.factories import sellable_hotel
    from tests.partners.airbnb.conftest import connect

    conn = connect(sellable_hotel(code="SNP", rooms={"EXT": 2, "SUI": 1}, days=3))
    with responses.RequestsMock() as rsps:
        for listing in ("L100", "L200"):
            rsps.add(
                responses.GET,
                f"http://airbnb.test/calendar/{listing}.ics",
                body=(SAMPLES / "airbnb_listing_feed.ics").read_bytes(),
            )
        result = conn.get_provider().pull_reservations()
    assert {s.partner_room_id for s in result.snapshots} == {"L100", "L200"}
    assert all(r.kind == InboundKind.NEW for r in result.reservations)
    assert sorted(r.block for r in result.reservations) == [False, False, True, True]
    assert conn.logs.filter(operation="feed:L100").exists()
