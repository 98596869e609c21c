"""Fixtures for the channel-manager tests (shared with the PMS tests)."""

from tests.ids_connection import BASE_URL, _fast_retries, conn, hotel, make_connection

__all__ = ["BASE_URL", "_fast_retries", "conn", "hotel", "make_connection"]
