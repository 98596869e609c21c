"""Connect a hotel to a partner: ``ensure_connection PROVIDER --hotel CODE --base-url URL ...``."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from channels.connections import SetupError, ensure_connection, read_products_file
from channels.providers import registry
from channels.pull import ensure_pull_schedule


def _json_object(value: str, option: str) -> dict:
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise CommandError(f"{option} is not JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise CommandError(f"{option} must be a JSON object.")
    return data


def _partner_setup(provider: str):
    """The partner's own ``setup.connect`` (beside its provider module), if it has one."""
    from importlib import import_module

    package = registry()[provider].rsplit(".", 2)[0]
    try:
        return getattr(import_module(f"{package}.setup"), "connect", None)
    except ModuleNotFoundError:
        return None


class Command(BaseCommand):
    help = "Create (or with --update, update) a hotel's connection to a partner, with its products."

    def add_arguments(self, parser) -> None:
        parser.add_argument("provider", help="Provider key, e.g. booking_com.")
        parser.add_argument("--hotel", required=True, help="The hotel's code.")
        parser.add_argument(
            "--base-url", help="The partner's address (a partner's setup may have a default)."
        )
        parser.add_argument("--secure-base-url", help="Where reservations are read, if elsewhere.")
        parser.add_argument(
            "--credentials-json",
            help="A JSON object (a partner's setup may have defaults, e.g. a sandbox's).",
        )
        parser.add_argument(
            "--settings-json", default="{}", help="Provider settings, a JSON object."
        )
        parser.add_argument("--products", help="A JSON file listing the products to map.")
        parser.add_argument("--update", action="store_true", help="Re-apply to an existing one.")

    def handle(self, *args, **options) -> None:
        provider = options["provider"]
        if provider not in registry():
            raise CommandError(f"Unknown provider {provider!r}; known: {', '.join(registry())}.")
        credentials = (
            _json_object(options["credentials_json"], "--credentials-json")
            if options["credentials_json"] is not None
            else None
        )
        settings = _json_object(options["settings_json"], "--settings-json")
        try:
            products = read_products_file(options["products"]) if options["products"] else None
            connect = _partner_setup(provider)
            common = {
                "hotel": options["hotel"],
                "base_url": options["base_url"],
                "credentials": credentials,
                "settings": settings,
                "products": products,
                "update": options["update"],
            }
            if connect is not None:
                conn, created = connect(secure_base_url=options["secure_base_url"], **common)
            else:
                if not options["base_url"] or credentials is None:
                    raise CommandError(f"{provider} needs --base-url and --credentials-json.")
                if options["secure_base_url"]:
                    settings["secure_base_url"] = options["secure_base_url"]
                conn, created = ensure_connection(provider, **common)
                ensure_pull_schedule(conn, update=options["update"])
        except SetupError as exc:
            raise CommandError(str(exc)) from exc
        verb = "Created" if created else ("Updated" if options["update"] else "Kept")
        mapped = conn.products.count()
        self.stdout.write(f"{verb} connection #{conn.pk} {conn} ({mapped} products mapped).")
