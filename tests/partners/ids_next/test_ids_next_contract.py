"""IDS Next keeps the provider contract every partner keeps."""

from __future__ import annotations

from pema import ota
from tests.support.provider_contract import ProviderContract


class TestIdsNextContract(ProviderContract):
    key = "ids_next"
    base_url = "http://ids.test"
    settings = {"hotel_code": "PEMA001"}
    credentials = {"api_key": "k", "api_secret": "s"}
    bad_settings = {"hotel_code": ""}

    def fake_partner(self, rsps, connection):
        answer = ota.OTAResponse(success=True, data=f"pema-ping-{connection.pk}")
        rsps.post(f"{self.base_url}/{ota.PING_RQ}", body=ota.build_ping_rs(answer))
