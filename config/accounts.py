"""Password reset, limited per client address and per email asked for, without telling anyone
more than the form always says: a known address, an unknown one and a limited request all get the
"check your email" page after the same work, and a worker sends the email, if any
(provisioning/password_reset.py)."""
from django.contrib.auth.views import PasswordResetView
from django.http import HttpResponseRedirect
from django.utils.translation import get_language

from config.ratelimits import is_limited
from onboarding.forms import MemberPasswordResetForm
from provisioning.password_reset import enqueue_password_reset


class RateLimitedPasswordResetView(PasswordResetView):
    form_class = MemberPasswordResetForm

    def form_valid(self, form):
        # Both counted on every request: stopping at the first would let the other go uncounted.
        by_address = is_limited(self.request, "password-reset-address")
        by_email = is_limited(self.request, "password-reset-email", form.cleaned_data["email"])
        if not (by_address or by_email):
            enqueue_password_reset(form.cleaned_data["email"], get_language())
        return HttpResponseRedirect(self.get_success_url())
