"""OpenAPI documentation helpers: every error response, with an example of each code."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from pema.api import ErrorTable, documented_errors

# Status -> (description, [(code, message), ...]) used for the examples.
ERRORS: ErrorTable = {
    400: (
        "The request is not valid.",
        [
            ("malformed_json", "The body is not valid JSON: ..."),
            ("unknown_field", "The request has fields this endpoint does not know."),
            ("missing_field", "A required field is missing."),
            ("invalid_field", "Some fields are not valid."),
            ("check_in_in_past", "Check-in cannot be in the past."),
            ("check_out_not_after_check_in", "Check-out must be after check-in."),
            ("stay_too_long", "Stays are limited to 30 nights; this one has 31."),
            ("no_adults", "At least one adult is needed."),
            ("too_many_guests", "Deluxe holds at most 2 adults, 1 children and 3 guests."),
            ("unknown_room_type", "No room type XYZ at this hotel."),
            ("unknown_rate_plan", "No rate plan XYZ at this hotel."),
            ("idempotency_key_required", "Send an Idempotency-Key header."),
            ("invalid_idempotency_key", "The Idempotency-Key must be 8 to 255 characters."),
            ("invalid_cursor", "The cursor is not one this API gave out; start again without it."),
        ],
    ),
    401: (
        "No API key, or one that is unknown, revoked or expired.",
        [
            ("not_authenticated", "Authentication credentials were not provided."),
            ("invalid_api_key", "The API key is not valid: unknown, revoked or expired."),
        ],
    ),
    403: (
        "The key lacks the scope this endpoint needs.",
        [("permission_denied", "This needs an API key with the scope 'bookings:write'.")],
    ),
    404: (
        "Unknown, or not visible to this key (another hotel's objects answer 404).",
        [
            ("hotel_not_found", "No hotel PEMA for this key."),
            ("booking_not_found", "No booking PEMA-ABC123 for this key."),
        ],
    ),
    409: (
        "The booking cannot be made or changed as asked.",
        [
            ("no_availability", "Sold out on 2026-05-02."),
            ("price_changed", "The price is now 1250000, not 1200000."),
            ("reservation_cancelled", "Reservation PEMA-ABC123 is cancelled."),
        ],
    ),
    413: (
        "The body is larger than the API accepts (2.5 MB).",
        [("payload_too_large", "The body is larger than this API accepts (2621440 bytes).")],
    ),
    415: ("The body is not JSON.", [("unsupported_media_type", "Unsupported media type.")]),
    422: (
        "The Idempotency-Key was used for a different request.",
        [("idempotency_key_reused", "This Idempotency-Key was used for a different request.")],
    ),
    429: (
        "Too many requests for this key, or too many failed authentications from this "
        "address; see the Retry-After header.",
        [("rate_limited", "Request was throttled. Expected available in 12 seconds.")],
    ),
    503: (
        "The hotel's PMS, which decides availability, cannot be reached.",
        [("pms_unavailable", "Please contact the hotel directly to book.")],
    ),
}
COMMON = (400, 401, 403, 404, 429)


def error_responses(*extra: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an endpoint: the common ones plus ``extra``."""
    return documented_errors(ERRORS, set(COMMON) | set(extra))


IDEMPOTENCY_KEY_LENGTH = (8, 255)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {
        "type": "string",
        "minLength": IDEMPOTENCY_KEY_LENGTH[0],
        "maxLength": IDEMPOTENCY_KEY_LENGTH[1],
        "pattern": "^[!-~]+$",
    },
    OpenApiParameter.HEADER,
    required=True,
    description="A unique key per booking attempt (a UUID): 8 to 255 printable ASCII "
    "characters. A retry with the same key and body returns the first answer; the same key "
    "with another body is a 422.",
)
