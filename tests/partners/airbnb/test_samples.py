"""The samples in partners/airbnb/samples/, read by the provider's codec and by the simulator.

Each is read by both sides independently (the codec with its own rules, the
simulator as Airbnb's import would), so the two cannot agree on a wrong
reading: they must find the same nights closed.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from channels.interface import CalendarExport, DateSpan
from partners.airbnb import ical
from partners.airbnb.simulator import AirbnbSimulator, closed_nights
from sandbox.simulator import SimulatorContext
from sandbox.store import PartnerStore, StateStore

SAMPLES = Path(__file__).resolve().parents[3] / "partners" / "airbnb" / "samples"


def read(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def codec_nights(body: bytes) -> set[str]:
    nights = set()
    for event in ical.parse_feed(body).events:
        nights |= {
            (event.start + timedelta(days=n)).isoformat()
            for n in range((event.end - event.start).days)
        }
    return nights


@pytest.mark.parametrize(
    "name", ["airbnb_listing_feed.ics", "edge_cases_feed.ics", "pema_export.ics"]
)
def test_codec_and_simulator_read_the_same_nights(name):
    body = read(name)
    assert codec_nights(body) == closed_nights(body)
    assert codec_nights(body)


def test_the_airbnb_feed_is_a_booking_and_a_block():
    booking, block = ical.parse_feed(read("airbnb_listing_feed.ics")).events
    assert booking.reservation and not block.reservation
    assert (booking.start, booking.end) == (date(2027, 1, 12), date(2027, 1, 15))
    note = ical.staff_note(booking)
    assert "HMABCD1234" in note and "4321" in note
    inbound = ical.to_inbound(
        booking, listing="L1", fetched_at=ical.datetime(2026, 12, 1, tzinfo=ical.UTC)
    )
    assert inbound.rooms[0].partner_rate_id == ical.RATE_ID and not inbound.block
    assert inbound.guest.email == "" and inbound.total == 0


def test_the_edge_cases():
    feed = ical.parse_feed(read("edge_cases_feed.ics"))
    by_uid = {e.uid: e for e in feed.events}
    timed = by_uid["seq-and-modified@example.com"]
    assert (timed.start, timed.end) == (date(2027, 3, 1), date(2027, 3, 4))
    assert timed.revision.startswith("seq3:20261130T101500Z:")
    assert by_uid["one-night-no-end@example.com"].end == date(2027, 3, 11)
    assert by_uid["duration@example.com"].end == date(2027, 3, 22)
    assert "gone@example.com" not in by_uid, "a cancelled event is gone"
    (bad,) = feed.bad
    assert bad.uid == "no-dates@example.com" and "DTSTART" in bad.reason


def test_a_cut_off_feed_is_refused_with_a_reason():
    with pytest.raises(ical.FeedError, match="iCalendar"):
        ical.parse_feed(read("malformed_feed.ics"))
    with pytest.raises(ical.FeedError, match="larger than"):
        ical.parse_feed(read("airbnb_listing_feed.ics"), max_bytes=100)


def test_pema_s_export_is_the_sample_byte_for_byte():
    export = CalendarExport(
        partner_room_id="L100",
        closed=(
            DateSpan(date(2027, 1, 5), date(2027, 1, 7)),
            DateSpan(date(2027, 1, 20), date(2027, 1, 20)),
        ),
        today=date(2027, 1, 1),
    )
    assert ical.render_export(export, calendar_name="Pema Test Hotel - L100") == read(
        "pema_export.ics"
    )


def test_the_simulator_s_feed_reads_in_the_codec(tmp_path):
    store = StateStore(tmp_path)
    simulator = AirbnbSimulator(SimulatorContext("airbnb", PartnerStore(store, "airbnb"), tmp_path))
    made = simulator.command("book", {"listing": "L1", "check_in": "2027-01-10", "nights": 2})
    simulator.command("block", {"listing": "L1", "start": "2027-01-20", "end": "2027-01-22"})
    feed = ical.parse_feed(simulator.handle(_get("/calendar/L1.ics")).body)
    assert {(e.uid == made["uid"], e.reservation) for e in feed.events} == {
        (True, True),
        (False, False),
    }
    changed = simulator.command("change", {"uid": made["uid"], "nights": 3})
    again = {
        e.uid: e for e in ical.parse_feed(simulator.handle(_get("/calendar/L1.ics")).body).events
    }
    assert again[made["uid"]].sequence == changed["sequence"] == 1
    assert again[made["uid"]].end == date(2027, 1, 13)
    store.close()


def _get(path: str):
    from sandbox.simulator import Request

    return Request(method="GET", path=path, query={}, headers={})
