"""What django-axes needs from us (settings AXES_*): how an email is compared, and the page a
locked-out sign-in gets.

Axes counts failed sign-ins per (email, client address) pair in PostgreSQL and refuses the pair
for AXES_COOLOFF_TIME after AXES_FAILURE_LIMIT failures, right password or not. It does so in
the authentication backend, so our sign-in page and the admin's are both covered. The page
stays the page that was asked for (ours or the admin's), answered 429 with a message that says
what to do, in the reader's language.
"""
import functools

from axes.backends import AxesStandaloneBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.forms.forms import NON_FIELD_ERRORS
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from config.db import SelectRelated

MESSAGE = _("Too many failed sign-in attempts. Wait 15 minutes and try again, "
            "or reset your password.")


class LockoutBackend(AxesStandaloneBackend, ModelBackend):
    """Django's ModelBackend behind Axes' lockout check, in one backend (code that signs a user in
    names the first backend). A check of credentials that no client sent (`authenticate()`
    without a request: a management command, the test client's login()) has no client address
    to lock and skips the check, which Axes would otherwise refuse outright. Every sign-in page
    passes its request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None:  # raises PermissionDenied while this pair is locked out
            AxesStandaloneBackend.authenticate(self, request, username, password, **kwargs)
        return ModelBackend.authenticate(self, request, username, password, **kwargs)

    def get_user(self, user_id):
        # ModelBackend's, with the user's membership in the same query: nearly every signed-in
        # page asks which organisation the user belongs to (onboarding/access.py). Its SQL is
        # written once per process (config/db.py), as it is asked on every signed-in request.
        user = _user_with_membership().first([user_id])
        return user if user is not None and self.user_can_authenticate(user) else None


@functools.cache
def _user_with_membership():
    return SelectRelated(get_user_model(), "membership", where='"t"."id" = %s')


def axes_username(request, credentials):
    """Emails sign in whatever their letter case (orgs.User), so they are counted that way too:
    five guesses at "Ann@x" and "ann@x" are five at one account."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None:
        raw = request.POST.get("username")
    return (raw or "").strip().casefold() or None


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page that was asked for, its form carrying only the lockout message, 429."""
    context = getattr(original_response, "context_data", None) or {}
    form = context.get("form")
    template = getattr(original_response, "template_name", None)
    if form is None or template is None:
        # Unbound: validating it would authenticate, and count, once more.
        form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")})
        template, context = "registration/login.html", {"form": form}
    form.errors[NON_FIELD_ERRORS] = form.error_class([MESSAGE], error_class="nonfield")
    response = TemplateResponse(request, template, context, status=429)
    return response.render()
