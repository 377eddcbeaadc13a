"""Forms of the service setup assistant. They validate; provisioning/webex_setup.py saves."""
from functools import lru_cache

import phonenumbers
from django import forms
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from onboarding import countries
from onboarding.widgets import OptionsSelect
from orgs import subdomains

# Languages a Webex meeting site offers as its default; names come translated from Django.
MEETING_LANGUAGES = ["en", "fr", "de", "es", "it", "pt-br", "nl", "sv", "da", "nb", "pl", "cs",
                     "hu", "ru", "tr", "ja", "ko", "zh-hans", "zh-hant"]


def meeting_language_choices():
    return [(code, get_language_info(code)["name_translated"]) for code in MEETING_LANGUAGES]


class ListChoiceField(forms.ChoiceField):
    """A choice among an OptionsSelect's options, checked against the values it wrote once per
    language rather than by going through every choice again, as ChoiceField does."""

    widget = OptionsSelect

    def valid_value(self, value):
        return str(value) in self.widget.written_options().offsets


def example_number(country, number_format):
    """An example number of `country` in `number_format` (phonenumbers.PhoneNumberFormat), or ""
    when phonenumbers has none."""
    if country not in phonenumbers.SUPPORTED_REGIONS:
        return ""
    return _example_number(country, number_format)


@lru_cache(maxsize=None)  # phonenumbers builds an example from its metadata on every call
def _example_number(country, number_format):
    example = phonenumbers.example_number(country)
    return phonenumbers.format_number(example, number_format) if example else ""


class TimeZoneField(ListChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=countries.time_zone_choices, **kwargs)


class CallingSettingsForm(forms.Form):
    country = ListChoiceField(label=_("Country"), choices=countries.calling_country_choices,
                              help_text=_("Where the main location is. The main number must "
                                          "belong to this country."))
    time_zone = TimeZoneField(label=_("Time zone"))
    location_name = forms.CharField(label=_("Default location name"), max_length=100,
                                    help_text=_("The name users see for the main site, e.g. "
                                                "“Lyon head office”."))
    main_number = forms.CharField(label=_("Main number"), max_length=32,
                                  widget=forms.TextInput(attrs={"type": "tel",
                                                                "autocomplete": "tel"}),
                                  help_text=_("The location's main phone number, in national or "
                                              "international (+…) form."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        country = self.data.get("country") or self.initial.get("country")
        example = example_number(country, phonenumbers.PhoneNumberFormat.NATIONAL)
        if example:
            self.fields["main_number"].widget.attrs["placeholder"] = example

    def clean_location_name(self):
        name = self.cleaned_data["location_name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter a name for the location."), code="required")
        return name

    def clean(self):
        data = super().clean()
        country, raw = data.get("country"), data.get("main_number")
        if country and raw:
            data["main_number"] = self._e164(raw, country)
        return data

    def _e164(self, raw, country):
        try:
            number = phonenumbers.parse(raw, country)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and phonenumbers.is_valid_number_for_region(number, country):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        hint = example_number(country, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        params = {"country": countries.country_name(country), "example": hint}
        message = (_("Enter a valid phone number for %(country)s, e.g. %(example)s.") if hint
                   else _("Enter a valid phone number for %(country)s."))
        self.add_error("main_number", forms.ValidationError(message, code="invalid", params=params))
        return raw


class MeetingSettingsForm(forms.Form):
    language = ListChoiceField(label=_("Default language"), choices=meeting_language_choices,
                               help_text=_("Of the meeting site, invitations and recordings."))
    time_zone = TimeZoneField(label=_("Time zone"),
                              help_text=_("Meeting times in invitations are shown in it."))
    recording_allowed = forms.BooleanField(label=_("Hosts may record meetings"), required=False)
    guests_allowed = forms.BooleanField(label=_("People without a Webex account may join as "
                                                "guests"), required=False)
    join_before_host = forms.BooleanField(label=_("Attendees may join before the host"),
                                          required=False)


class SubdomainForm(forms.Form):
    subdomain = forms.CharField(
        label=_("Subdomain"), max_length=100, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                      "autocapitalize": "none"}),
        help_text=_("Your Webex site will be <subdomain>.webex.com. 3 to 30 characters: lowercase "
                    "letters, digits and hyphens, not at the start or end."))

    def __init__(self, *args, org=None, **kwargs):
        self.org = org
        super().__init__(*args, **kwargs)

    # Set when the name is fine in form but someone has it (or it is reserved).
    wants_suggestions = False

    def clean_subdomain(self):
        value = subdomains.normalise(self.cleaned_data["subdomain"])
        code = subdomains.problem(value)
        if code == "reserved":
            self.wants_suggestions = True
        subdomains.validate(value)
        if not subdomains.is_available(value, exclude_org=self.org):
            self.wants_suggestions = True
            raise forms.ValidationError(subdomains.MESSAGES["taken"], code="taken")
        return value

    def suggestions(self):
        """Available alternatives when the name entered is taken or reserved."""
        if not self.wants_suggestions:
            return []
        return subdomains.suggestions(self.data.get(self.add_prefix("subdomain"), ""), self.org)


class ReauthenticateForm(forms.Form):
    """Deploy starts billing: a session that signed in a while ago enters its password again.
    Checked through authenticate(), so sign-in lockouts apply here too."""

    password = forms.CharField(label=_("Your password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                               help_text=_("Deploying starts billing: enter your password again "
                                           "to confirm it is you."))

    def __init__(self, request, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self):
        from django.contrib.auth import authenticate

        password = self.cleaned_data["password"]
        user = authenticate(self.request, username=self.request.user.get_username(),
                            password=password)
        if user is None or user.pk != self.request.user.pk:
            raise forms.ValidationError(_("This password is not correct."), code="wrong_password")
        return password
