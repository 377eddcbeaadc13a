import os

from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path

from config import views
from config.accounts import RateLimitedPasswordResetView
from provisioning import metrics_views, webhooks

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_views.metrics, name="metrics"),  # Prometheus, METRICS_TOKEN
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/password_reset/", RateLimitedPasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("orders.urls")),
    path("reps/", include("provisioning.urls")),
    # The email provider's signed delivery webhook: its signature decides, not a person.
    path("webhooks/mailgun/tracking/", webhooks.mailgun_tracking, name="mailgun_tracking_webhook"),
    path("", include("onboarding.urls")),
]

# Benchmarks only (bench/bench_wizard.py): the bare FormView baseline, never mounted otherwise.
if os.environ.get("BENCH_VIEWS") == "1":
    urlpatterns.insert(0, path("bench/", include("bench.urls")))
