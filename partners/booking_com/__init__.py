"""Booking.com: ARI pushed over OTA XML, reservations pulled and acknowledged."""
