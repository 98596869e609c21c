"""What of the channels needs a person, for the Today dashboard (``bookings.dashboard``).

Registered in ``ChannelsConfig.ready``: inbound reservation messages held or
failed, jobs given up (dead), and connections in error (the partner refuses
our credentials, cannot be reached, or the last call failed).
"""

from __future__ import annotations

from django.urls import reverse

from bookings.dashboard import Attention
from bookings.models import Hotel

from .health import connection_health
from .models import Connection, InboundMessage, SyncJob


def held_messages(hotel: Hotel) -> list[Attention]:
    stuck = [InboundMessage.Status.HELD, InboundMessage.Status.FAILED]
    count = InboundMessage.objects.filter(connection__hotel=hotel, status__in=stuck).count()
    url = reverse("admin:channels_inboundmessage_changelist")
    return [
        Attention(
            label="Inbound reservations held",
            count=count,
            url=f"{url}?connection__hotel__id__exact={hotel.pk}&status__in=held,failed",
            permission="channels.view_inboundmessage",
            severity="error",
        )
    ]


def dead_jobs(hotel: Hotel) -> list[Attention]:
    count = SyncJob.objects.filter(connection__hotel=hotel, status=SyncJob.Status.DEAD).count()
    url = reverse("admin:channels_syncjob_changelist")
    return [
        Attention(
            label="Dead sync jobs (given up)",
            count=count,
            url=f"{url}?connection__hotel__id__exact={hotel.pk}&status__exact=dead",
            permission="channels.view_syncjob",
        )
    ]


def connections_in_error(hotel: Hotel) -> list[Attention]:
    failing = [
        h
        for h in connection_health(Connection.objects.filter(hotel=hotel, enabled=True))
        if h.light == "red"
    ]
    return [
        Attention(
            label="Connections in error",
            count=len(failing),
            url=reverse("admin:channels_connection_changelist") + f"?hotel__id__exact={hotel.pk}",
            permission="channels.view_connection",
            severity="error",
            items=tuple(
                (
                    f"{h.connection.name}: {h.status}",
                    reverse("admin:channels_connection_overview", args=[h.connection.pk]),
                )
                for h in failing
            ),
        )
    ]


SOURCES = (held_messages, dead_jobs, connections_in_error)
