"""IDS Next keeps the provider contract every partner keeps."""

from __future__ import annotations

from pema import ota
from tests.channels.ota_responses import ok, res_ok
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

    def fake_ari(self, rsps, connection):
        rsps.post(f"{self.base_url}/{ota.AVAIL_NOTIF_RQ}", body=ok(ota.AVAIL_NOTIF_RQ))
        rsps.post(f"{self.base_url}/{ota.RATE_AMOUNT_NOTIF_RQ}", body=ok(ota.RATE_AMOUNT_NOTIF_RQ))

    def fake_reservation(self, rsps, connection, reference):
        rsps.post(f"{self.base_url}/{ota.RES_NOTIF_RQ}", body=res_ok(reference))
        cancelled = ota.CancelResult(status="Cancelled", pms_reference=reference)
        rsps.post(f"{self.base_url}/{ota.CANCEL_RQ}", body=ok(ota.CANCEL_RQ, cancelled))
