"""Airbnb over iCalendar feeds: export of closed nights, import of bookings and blocks."""
