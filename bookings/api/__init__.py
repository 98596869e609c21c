"""The booking-engine REST API (``/api/v1/``): views, serializers and their plumbing.

Views stay thin: they parse input, call one domain function of ``bookings``
and shape the output. Errors of every kind leave in one JSON shape (see
``errors``).
"""
