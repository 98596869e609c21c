"""Two workers never send one connection's jobs at the same time (PostgreSQL, real threads)."""

import threading
import time
from datetime import timedelta

import pytest

from bookings.ari import AriChanges, apply_ari_update
from channels import delivery
from channels.dispatch import dispatch
from channels.interface import DeliveryResult
from channels.models import SyncJob
from channels.providers.base import Provider
from tests.support.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_workers_deliver_each_job_once_and_never_together(hotel, conn, monkeypatch):
    for i in range(6):
        day = hotel.today() + timedelta(days=i * 2)
        apply_ari_update(hotel, start=day, end=day, changes=AriChanges(price=1000 + i))
        dispatch(conn)
    jobs = SyncJob.objects.filter(connection=conn).count()
    assert jobs >= 6
    active = 0
    peak = 0
    sent: list[int] = []
    lock = threading.Lock()

    class FakeProvider(Provider):
        def push(self, items, *, message_id):
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
                sent.append(int(message_id.rsplit("-", 1)[1]))
            time.sleep(0.05)
            with lock:
                active -= 1
            return DeliveryResult()

        push_availability = push_rates = push

    monkeypatch.setattr(type(conn), "get_provider", lambda self: FakeProvider(self))

    def work():
        for _ in range(20):
            delivery.deliver(conn.pk, budget_seconds=5)
            if not SyncJob.objects.filter(connection=conn, status="pending").exists():
                break
            time.sleep(0.01)

    run_together(work, 4)
    assert peak == 1
    assert sorted(sent) == sorted(set(sent))
    assert len(sent) == jobs
    assert not SyncJob.objects.filter(connection=conn).exclude(status="done").exists()
