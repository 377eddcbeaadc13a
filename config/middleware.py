import re
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.utils.translation import gettext as _

# No inline scripts or styles anywhere: every asset is a file served by the site.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


TOKEN_URL = re.compile(r"^/setup/[A-Za-z0-9_-]{32,100}/$")


class SecurityHeadersMiddleware:
    """Content-Security-Policy on every response. A URL that carries a setup token sends no
    referrer at all (it only redirects, or shows a page without forms); the other setup pages
    send a referrer only to this site, so nothing under /setup/ leaks to another site. Not
    "no-referrer" on the wizard's pages: under it browsers send `Origin: null` with a form POST,
    which Django's CSRF check refuses (every wizard step failed in a real browser)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        if request.path.startswith("/setup/"):
            response["Referrer-Policy"] = ("no-referrer" if TOKEN_URL.match(request.path)
                                           else "same-origin")
            response["Cache-Control"] = "no-store"
        return response



class JsonApiErrorsMiddleware:
    """Under /api/ every error is JSON, as a program reading it expects: Django's own 404 page,
    the 405 of a wrong method and any other refusal that is not already JSON are replaced by
    {"error": "…"} with the same status (and Allow header)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.status_code < 400 \
                or response.get("Content-Type", "").startswith("application/json"):
            return response
        return self._json(response)

    @staticmethod
    def _json(response):
        status = response.status_code
        if status == 404:
            message = _("There is no API endpoint at this address.")
        elif status == 405:
            message = _("This endpoint does not accept this method; it accepts: %(methods)s.") % {
                "methods": response.get("Allow", "")}
        elif status >= 500:
            message = _("The server could not handle this request; try again later.")
        else:
            message = _("The request was refused (HTTP %(status)d).") % {"status": status}
        answer = JsonResponse({"error": message}, status=status)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                answer[header] = response[header]
        return answer


class StaffIdleTimeoutMiddleware:
    """A staff session left alone longer than STAFF_IDLE_TIMEOUT is signed out and sent to sign
    in: staff can change every order, and their browsers sit open on shared desks. Partners keep
    Django's session length.

    The clock starts at sign-in (the user's last_login, which Django sets then) and the last
    request's time is written to the session at most once a minute, so an active staff member
    does not cost a session write per page."""

    KEY = "staff_last_seen"
    RESOLUTION = 60  # seconds

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and (user.is_staff or user.is_superuser):
            now = time.time()
            last = request.session.get(self.KEY)
            if last is None and user.last_login is not None:
                last = user.last_login.timestamp()
            if last is not None and now - last > settings.STAFF_IDLE_TIMEOUT.total_seconds():
                logout(request)
                messages.info(request, _("You were signed out after %(minutes)d minutes without "
                                         "activity. Sign in again to continue.")
                              % {"minutes": settings.STAFF_IDLE_TIMEOUT.total_seconds() // 60})
                return redirect_to_login(request.get_full_path() if request.method == "GET"
                                         else request.path)
            if last is None or now - last >= self.RESOLUTION:
                request.session[self.KEY] = int(now)
        return self.get_response(request)
