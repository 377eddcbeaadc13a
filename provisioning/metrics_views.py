"""GET /metrics for Prometheus (provisioning/metrics.py), behind a bearer token: METRICS_TOKEN.
Without it configured the endpoint does not exist (404, the site's usual page); a missing or wrong
token gets a bare 401 that says nothing of the figures."""
import hmac

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.cache import never_cache
from prometheus_client.exposition import choose_encoder

from provisioning.metrics import REGISTRY


def _authorised(request):
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode())


@never_cache
def metrics(request):
    if not settings.METRICS_TOKEN:
        raise Http404
    if not _authorised(request):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    # The text format Prometheus asks for in its Accept header (OpenMetrics when it says so).
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(REGISTRY), content_type=content_type)
