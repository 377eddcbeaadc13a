"""POST /api/orders: the ordering system pushes orders (JSON, bearer API key): one order, or a
list of them, as import_orders reads. Thin: authentication, rate limit, body parsing, then
orders.services. Every answer is JSON (errors under /api/ too: config.middleware)."""
import json

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from config.ratelimits import check as rate_limit
from orders import services, validation

# One order is a few kilobytes; a megabyte leaves room for hundreds of lines and stops abuse.
MAX_BODY_BYTES = 1024 * 1024

STATUS_CODES = {
    services.CREATED: 201,
    services.UPDATED: 200,
    services.UNCHANGED: 200,
    services.KEPT: 200,
}


def _errors(status, errors):
    return JsonResponse({"errors": errors}, status=status)


def _bearer_key(request):
    scheme, _sep, key = request.headers.get("Authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


@csrf_exempt  # a bearer-token API: no cookies, so no CSRF to defend against
@require_POST
def create_order(request):
    api_key = services.authenticate_api_key(_bearer_key(request))
    if api_key is None:
        response = JsonResponse({"error": _("A valid API key is required (Authorization: Bearer …).")},
                                status=401)
        response["WWW-Authenticate"] = 'Bearer realm="orders"'
        return response
    limit = rate_limit(request, "api-key", f"api-key:{api_key.pk}")
    if limit.limited:
        seconds = max(limit.retry_after, 1)
        response = _errors(429, {"body": [_("Too many requests with this API key; retry in %(seconds)d "
                                            "seconds.") % {"seconds": seconds}]})
        response["Retry-After"] = str(seconds)
        return response
    if request.content_type != "application/json":
        return _errors(415, {"body": [_("The body must be JSON, sent with Content-Type: "
                                        "application/json.")]})

    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return _errors(413, {"body": [_("The body is larger than %(max)d bytes.") % {"max": MAX_BODY_BYTES}]})
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _errors(413, {"body": [_("The body is larger than %(max)d bytes.") % {"max": MAX_BODY_BYTES}]})
    try:
        data = validation.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return _errors(400, {"body": [_("The body is not UTF-8 text.")]})
    except json.JSONDecodeError as exc:
        return _errors(400, {"body": [_("Malformed JSON at line %(line)d, column %(column)d: %(error)s")
                                      % {"line": exc.lineno, "column": exc.colno, "error": exc.msg}]})
    except RecursionError:
        return _errors(400, {"body": [_("Malformed JSON: nested too deeply.")]})
    source = f"api:{api_key.name}"
    if isinstance(data, list):
        return _many(data, source)
    outcome = services.import_order(data, source=source)
    if outcome.status == services.REJECTED:
        return _errors(400, outcome.errors)
    return JsonResponse(_result(outcome), status=STATUS_CODES[outcome.status])


def _many(items, source):
    """A list, as import_orders takes it: each order all-or-nothing, the valid ones imported even
    when others are refused. 201 when all went in and one at least is new, 200 when all were
    known, 400 when any was refused; the body says what happened to each, in order."""
    if not items:
        return _errors(400, {"body": [_("The list holds no order.")]})
    outcomes = list(services.OrderImporter(source=source).import_many(items))
    if any(o.status == services.REJECTED for o in outcomes):
        status = 400
    else:
        status = 201 if any(o.status == services.CREATED for o in outcomes) else 200
    return JsonResponse({"orders": [_result(o) for o in outcomes]}, status=status)


def _result(outcome):
    if outcome.status == services.REJECTED:
        return {"order_number": outcome.label, "status": outcome.status, "errors": outcome.errors}
    payload = {"order_number": outcome.order.number, "status": outcome.status}
    if outcome.status == services.UPDATED:
        payload["changed"] = outcome.changed
    elif outcome.status == services.KEPT:
        # Provisioning has started: the repeat is acknowledged, its differences are not applied.
        payload.update(status=services.UNCHANGED, ignored=outcome.changed,
                       detail=_("Known order left unchanged: %(reason)s.") % {"reason": outcome.reason})
    return payload
