"""Payment pages and the PayU endpoints (the return page and the webhook URL given to PayU)."""

from django.urls import path

from . import views
from .gateways.payu import webhooks

urlpatterns = [
    path("payu/return/", webhooks.payu_return, name="payu-return"),
    path("payu/webhook/", webhooks.payu_webhook, name="payu-webhook"),
    path("<uuid:public_id>/start/", views.start, name="payment-start"),
    path("<uuid:public_id>/", views.result, name="payment-result"),
]
