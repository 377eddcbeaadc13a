"""Sign-in throttling against password guessing.

After LOGIN_FAILURE_LIMIT failed sign-ins for one email from one client address within
LOGIN_FAILURE_WINDOW seconds, that address cannot sign in as that email until the window ends,
even with the right password. Keyed by address *and* email, so someone guessing from elsewhere
never locks the real person out. Enforced in the authentication backend, so every sign-in page
(ours and the admin's) is covered; our sign-in page answers 429 with a message that says so.

Counters live in the cache (Redis). If Redis is down the throttle fails open: sign-in keeps
working, unthrottled, rather than refusing everyone (config/cache.py).
"""
import hashlib

from django.conf import settings
from django.contrib.auth import signals
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.forms.forms import NON_FIELD_ERRORS
from django.utils.translation import gettext_lazy as _


def _limit():
    return getattr(settings, "LOGIN_FAILURE_LIMIT", 5)


def _window():
    return getattr(settings, "LOGIN_FAILURE_WINDOW", 15 * 60)


def client_address(request):
    # REMOTE_ADDR, never X-Forwarded-For: a header the client writes cannot pick its own bucket.
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def _key(request, email):
    raw = f"{client_address(request)}|{(email or '').strip().lower()}"
    return "login-failures:" + hashlib.sha256(raw.encode()).hexdigest()


def failures(request, email):
    return cache.get(_key(request, email), 0)


def is_throttled(request, email):
    return request is not None and bool(email) and failures(request, email) >= _limit()


@receiver(signals.user_login_failed)
def _count_failure(sender, credentials, request=None, **kwargs):
    email = credentials.get("username") or credentials.get("email")
    if request is None or not email:
        return
    key = _key(request, email)
    cache.add(key, 0, _window())  # the window starts at the first failure and is not extended
    cache.incr(key)


@receiver(signals.user_logged_in)
def _forget_failures(sender, request=None, user=None, **kwargs):
    if request is not None and user is not None:
        cache.delete(_key(request, user.get_username()))


class ThrottledModelBackend(ModelBackend):
    """ModelBackend that refuses (even a right password) while this client is throttled."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if is_throttled(request, username):
            raise PermissionDenied  # authenticate() stops here and reports a failed sign-in
        return super().authenticate(request, username=username, password=password, **kwargs)


class ThrottledLoginView(LoginView):
    message = _("Too many failed sign-in attempts. Wait 15 minutes and try again, "
                "or reset your password.")

    def form_invalid(self, form):
        if is_throttled(self.request, form.data.get("username", "")):
            form.errors[NON_FIELD_ERRORS] = form.error_class([self.message], error_class="nonfield")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_invalid(form)
