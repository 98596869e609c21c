"""Fixtures for the PMS tests (shared with the channel-manager tests)."""

from tests.ids_connection import BASE_URL, _fast_retries, conn, hotel, make_connection

__all__ = ["BASE_URL", "_fast_retries", "conn", "hotel", "make_connection"]
