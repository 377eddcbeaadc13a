"""The setup wizard's forms, one per step (steps 4-9), and the password form (step 10)."""
import unicodedata

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.contrib.auth.password_validation import password_validators_help_texts
from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

from onboarding import countries, selectors, services
from onboarding.verification import Outcome
from onboarding.widgets import OptionsSelect
from provisioning.selectors import is_rep



class Role(TextChoices):
    """Step 4: who is setting up the order."""
    PARTNER = "partner", _("I am a partner")
    CUSTOMER = "customer", _("I am the customer")


class Installer(TextChoices):
    """Step 5: who installs the services."""
    SELF = "self", _("Yes, I will do the setup")
    COLLEAGUE = "colleague", _("Someone else in my company will do the setup")
    CUSTOMER = "customer", _("The customer will do the setup")


NEW = "new"


def country_field():
    """A select of every country by name, in the page's language (onboarding/countries.py)."""
    return forms.ChoiceField(label=_("Country"),
                             choices=lambda: [("", "---------"), *countries.country_choices()],
                             widget=OptionsSelect(attrs={"autocomplete": "country"}))


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Who are you?"), widget=forms.RadioSelect,
        choices=Role.choices)


PROOF_MESSAGES = {
    Outcome.SENT: _("We sent a 6-digit code to %(email)s to confirm that this address is yours. "
                    "Enter it here, then press Next."),
    Outcome.WRONG: _("This code is not the one we sent to %(email)s, or it has expired. Check the "
                     "email, or clear this field and press Next to get a new code."),
    Outcome.TOO_MANY: _("Too many codes or attempts for %(email)s. Wait an hour, or use the "
                        "address the setup email was sent to."),
    Outcome.NEEDED: _("Press Next to get a code at %(email)s: we confirm every address before it "
                      "joins an organisation."),
}


def code_field():
    return forms.CharField(
        label=_("Code from the email"), max_length=12, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "class": "short"}))


class ProvenEmailMixin:
    """An address typed in the wizard becomes a member or an administrator only once proven
    (onboarding/verification.py): the link's own recipient, the signed-in user, or a code."""

    def prove_email(self, field, email):
        if self.proof is None or not email:
            return True
        outcome = self.proof.prove(email, self.data.get(self.add_prefix("code"), ""))
        if outcome == Outcome.PROVEN:
            return True
        self.fields["code"] = code_field()
        self.add_error("code", PROOF_MESSAGES[outcome] % {"email": selectors.mask_email(email)})
        return False


class InstallerForm(ProvenEmailMixin, forms.Form):
    choice = forms.ChoiceField(
        label=_("Who will set up the services?"), widget=forms.RadioSelect,
        choices=Installer.choices)
    name = forms.CharField(label=_("Your name"), max_length=150, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "name",
                                                         "data-show-for": "self customer"}))
    email = forms.EmailField(label=_("Your email"), required=False,
                             help_text=_("Prefilled with the address the deployment email was "
                                         "sent to; if that is a shared mailbox, enter your own: "
                                         "we send it a code to confirm it."),
                             widget=forms.EmailInput(attrs={"autocomplete": "email",
                                                            "data-show-for": "self customer"}))
    colleague_email = forms.EmailField(
        label=_("Your colleague's email"), required=False,
        help_text=_("They receive their own setup email; the link you used stops working."),
        widget=forms.EmailInput(attrs={"data-show-for": "colleague"}))

    def __init__(self, *args, partner_org=None, proof=None, member_email=None, **kwargs):
        self.partner_org, self.proof, self.member_email = partner_org, proof, member_email
        super().__init__(*args, **kwargs)
        if member_email:
            # Signed in as a member of the partner organisation: that is who installs.
            self.fields["email"].disabled = True
            self.fields["email"].initial = member_email
            self.fields["email"].help_text = _("You are signed in as a member of your partner "
                                               "organisation.")
        if proof is not None and proof.has_pending():
            self.fields["code"] = code_field()
            self.fields["code"].widget.attrs["data-show-for"] = "self customer"

    def clean(self):
        data = super().clean()
        choice = data.get("choice")
        if choice in (Installer.SELF, Installer.CUSTOMER):
            if not data.get("name"):
                self.add_error("name", _("Enter your name."))
            email = data.get("email")
            if not email and "email" not in self.errors:
                self.add_error("email", _("Enter your email."))
            elif email and self.prove_email("email", email):
                problem = services.installer_email_problem(email, self.partner_org)
                if problem:
                    self.add_error("email", problem)
        elif choice == Installer.COLLEAGUE and not data.get("colleague_email") \
                and "colleague_email" not in self.errors:
            self.add_error("colleague_email", _("Enter your colleague's email."))
        return data


class OrgStepForm(forms.Form):
    """Creates an organisation (no `existing`) or verifies one. The wizard stores which of the
    two the user saw (`marker`): if that changed before Confirm (someone created the org
    meanwhile), the step is shown again rather than trusting details nobody verified."""

    stale_message = None
    detail_fields = ()

    def __init__(self, *args, existing=None, **kwargs):
        self.existing = existing
        super().__init__(*args, **kwargs)
        if existing is not None:
            for name in list(self.fields):
                del self.fields[name]

    @property
    def marker(self):
        return str(self.existing.pk) if self.existing is not None else NEW

    def clean(self):
        data = super().clean()
        seen = self.data.get(self.add_prefix("marker"))
        if seen is not None and seen != self.marker:
            raise forms.ValidationError(self.stale_message)
        return data

    def details(self):
        """OrgDetails for a new organisation (None when verifying an existing one)."""
        if self.existing is not None:
            return None
        return services.OrgDetails(**{name: self.cleaned_data.get(name, "")
                                      for name in self.detail_fields})


class PartnerOrgForm(OrgStepForm):
    """Verifying an existing partner organisation takes a signed-in member of it: anyone else
    signs in, or asks its administrators to let them join."""

    stale_message = services.PARTNER_ORG_APPEARED
    detail_fields = ("name", "country")

    name = forms.CharField(label=_("Partner organisation name"), max_length=200,
                           widget=forms.TextInput(attrs={"autocomplete": "organization"}))
    country = country_field()

    def __init__(self, *args, member=False, **kwargs):
        self.member = member
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if self.existing is not None and not self.member:
            raise forms.ValidationError(services.NOT_A_MEMBER, code="not_member")
        return data


class CustomerAdminForm(ProvenEmailMixin, forms.Form):
    email = forms.EmailField(
        label=_("Customer administrator's email"),
        help_text=_("This person administers the customer's Webex organisation. A user can "
                    "belong to only one Webex organisation at a time."))

    def __init__(self, *args, order=None, partner_org=None, customer_org=None,
                 installer_email=None, customer_led=False, proof=None, managed_elsewhere=False,
                 **kwargs):
        self.order, self.partner_org, self.customer_org = order, partner_org, customer_org
        self.installer_email, self.customer_led = installer_email, customer_led
        self.managed_elsewhere = managed_elsewhere
        # Given only when the address is the person's own (I am the customer): a partner's pick
        # is proven later, by the invitation or the link it receives.
        self.proof = proof
        super().__init__(*args, **kwargs)
        if self.proof is not None and self.proof.has_pending():
            self.fields["code"] = code_field()

    def clean(self):
        data = super().clean()
        if self.managed_elsewhere:
            raise forms.ValidationError(services.MANAGED_ELSEWHERE, code="managed_elsewhere")
        email = data.get("email")
        if not email:
            return data
        data["email"] = email = email.strip().lower()
        if not self.prove_email("email", email):
            return data
        problem, selected = services.customer_admin_problem(
            email, self.order, self.partner_org, self.customer_org, self.installer_email,
            customer_led=self.customer_led)
        if problem:
            self.add_error("email", problem)
        data["selected_org"] = selected
        return data


class CustomerOrgForm(OrgStepForm):
    stale_message = services.CUSTOMER_ORG_APPEARED
    detail_fields = ("name", "country", "address", "city", "postal_code")

    name = forms.CharField(label=_("Customer organisation name"), max_length=200)
    country = country_field()
    address = forms.CharField(label=_("Address"), max_length=200, required=False,
                              widget=forms.TextInput(attrs={"autocomplete": "street-address"}))
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False,
                                  widget=forms.TextInput(attrs={"autocomplete": "postal-code",
                                                                "class": "short"}))


class ConfirmForm(forms.Form):
    """Nothing to enter: the page shows both sides; submitting it is the confirmation."""


class AdminPasswordForm(SetPasswordForm):
    """Step 10. A plain form after the wizard: the raw password never enters wizard storage."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["new_password1"].widget.attrs["autocomplete"] = "new-password"
        self.fields["new_password1"].help_text = " ".join(password_validators_help_texts())
        self.fields["new_password2"].widget.attrs["autocomplete"] = "new-password"

    def save(self, commit=True):
        raise NotImplementedError("use onboarding.services.set_admin_password")


def _same_email(a, b):
    return unicodedata.normalize("NFKC", a).casefold() == unicodedata.normalize("NFKC", b).casefold()


class MemberPasswordResetForm(PasswordResetForm):
    """Forgot password, also for an administrator the setup created who has no password yet
    (they left before step 10, or handed the setup to the customer and closed the page): that
    is how they set one; so does an account rep the order import created. Django skips every
    account without a usable password; here only those outside any organisation and not reps
    stay skipped, and inactive accounts always are."""

    def get_users(self, email):
        users = (get_user_model()._default_manager.select_related("membership")
                 .filter(email__iexact=email, is_active=True))
        return (user for user in users
                if (user.has_usable_password() or hasattr(user, "membership") or is_rep(user))
                and _same_email(email, user.email))
