"""PayU's two ways back to Pema: the guest's browser (surl/furl) and the S2S webhook.

Both are form POSTs from outside any Pema session, so they are the only
CSRF-exempt views of payments: they are authenticated by the reverse hash and
then by ``verify_payment`` (``payments/flow.py``). Card fields, should a
gateway ever post any, are dropped before anything is stored.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ... import flow
from ...models import PaymentEvent

_CARD_FIELDS = ("card", "ccnum", "ccvv", "cvv", "ccexp", "ccname")


def _form(request: HttpRequest) -> dict[str, str]:
    return {
        key: value
        for key, value in request.POST.dict().items()
        if not any(part in key.lower() for part in _CARD_FIELDS)
    }


@csrf_exempt  # PayU posts the guest's browser here from its own site; the hash authenticates
@require_POST
def payu_return(request: HttpRequest) -> HttpResponse:
    """surl and furl: settle (or find settled) and show the guest the booking's state."""
    outcome = flow.handle_callback(PaymentEvent.Kind.RETURN, _form(request))
    if outcome.status_code == 400 or outcome.payment is None:
        return render(request, "payments/rejected.html", {"message": outcome.message}, status=400)
    return redirect("payment-result", outcome.payment.public_id)


@csrf_exempt  # server to server: the reverse hash and verify_payment authenticate it
@require_POST
def payu_webhook(request: HttpRequest) -> HttpResponse:
    """PayU's S2S callback: 200 once handled (or already), 400 refused, 503 to be retried."""
    outcome = flow.handle_callback(PaymentEvent.Kind.WEBHOOK, _form(request))
    status = outcome.status_code if outcome.status_code in (400, 503) else 200
    return HttpResponse(f"{outcome.result}: {outcome.message}\n", status=status,
                        content_type="text/plain")  # fmt: skip
