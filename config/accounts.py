"""Password reset, limited per client address and per email asked for, without telling anyone
more than the form always says: a limited request gets exactly the answer of a successful one
(the "check your email" page), and no email."""
from django.contrib.auth.views import PasswordResetView
from django.http import HttpResponseRedirect

from config.ratelimits import is_limited
from onboarding.forms import MemberPasswordResetForm


class RateLimitedPasswordResetView(PasswordResetView):
    form_class = MemberPasswordResetForm

    def form_valid(self, form):
        # Both counted on every request: stopping at the first would let the other go uncounted.
        by_address = is_limited(self.request, "password-reset-address")
        by_email = is_limited(self.request, "password-reset-email", form.cleaned_data["email"])
        if by_address or by_email:
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)
