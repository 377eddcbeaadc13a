"""onboarding.widgets.OptionsSelect writes the country and time-zone lists itself: the page must
be the one Django's Select writes, option for option."""
import pytest
from django import forms
from django.utils import translation

from onboarding import countries
from onboarding.forms import CustomerOrgForm, PartnerOrgForm
from onboarding.webex_setup_forms import (MEETING_LANGUAGES, CallingSettingsForm,
                                          MeetingSettingsForm, meeting_language_choices)
from onboarding.widgets import OptionsSelect

CHOICES = [("", "---------"), ("FR", "France"), ("a&b", 'x"<y>'), (5, "five"),
           ("Group & co", [("x", "X"), ("FR", "France again")])]


@pytest.mark.parametrize("value", [None, "", "FR", "a&b", 5, ["FR"], "not a choice"])
def test_it_writes_what_djangos_select_writes(value):
    attrs = {"id": "id_c", "required": True, "autocomplete": "country", "data-x": 'q"'}

    mine = OptionsSelect(attrs=attrs, choices=CHOICES).render("c", value)

    assert mine == forms.Select(attrs=attrs, choices=CHOICES).render("c", value)
    assert mine.count(" selected") == (0 if value == "not a choice" else 1)


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("choices, value", [
    (countries.calling_country_choices, "DE"),
    (countries.time_zone_choices, "Europe/Paris"),
    (lambda: [("", "---------"), *countries.country_choices()], ""),
])
def test_the_country_and_time_zone_lists_are_djangos_option_for_option(language, choices, value):
    with translation.override(language):
        mine = OptionsSelect(choices=choices).render("f", value)
        assert mine == forms.Select(choices=choices).render("f", value)
    assert mine.count("<option ") > 200


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_meeting_language_list_is_djangos_too(language):
    with translation.override(language):
        mine = OptionsSelect(choices=meeting_language_choices).render("language", "fr")
        assert mine == forms.Select(choices=meeting_language_choices).render("language", "fr")
    assert mine.count("<option ") == len(MEETING_LANGUAGES)


def test_the_setup_forms_use_it_for_their_long_lists():
    assert isinstance(CallingSettingsForm().fields["country"].widget, OptionsSelect)
    assert isinstance(CallingSettingsForm().fields["time_zone"].widget, OptionsSelect)
    assert isinstance(MeetingSettingsForm().fields["time_zone"].widget, OptionsSelect)
    assert isinstance(MeetingSettingsForm().fields["language"].widget, OptionsSelect)
    assert isinstance(PartnerOrgForm.base_fields["country"].widget, OptionsSelect)
    assert isinstance(CustomerOrgForm.base_fields["country"].widget, OptionsSelect)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_list_written_once_still_selects_each_requests_value(language):
    with translation.override(language):
        for value in ["DE", "FR", "", "not a choice", None, "CA"]:
            mine = OptionsSelect(choices=countries.calling_country_choices).render("f", value)
            djangos = forms.Select(choices=countries.calling_country_choices).render("f", value)
            assert mine == djangos


def test_the_long_lists_accept_only_what_they_offer():
    data = {"country": "FR", "time_zone": "Europe/Paris", "location_name": "Lyon",
            "main_number": "+33478000000"}
    assert CallingSettingsForm(data).is_valid()
    for field, value in [("country", "AQ"), ("time_zone", "Europe"), ("time_zone", "US/Eastern")]:
        form = CallingSettingsForm({**data, field: value})
        assert not form.is_valid() and form.errors[field][0].startswith("Select a valid choice")
    assert not MeetingSettingsForm({"language": "xx", "time_zone": "UTC"}).is_valid()
    assert MeetingSettingsForm({"language": "fr", "time_zone": "UTC"}).is_valid()


@pytest.mark.parametrize("choices", [countries.calling_country_choices,
                                     lambda: [("", "---------"), *countries.country_choices()]])
def test_a_list_is_required_in_the_page_as_djangos_would_be(choices):
    class Mine(forms.Form):
        f = forms.ChoiceField(choices=choices, widget=OptionsSelect)

    class Djangos(forms.Form):
        f = forms.ChoiceField(choices=choices)

    assert str(Mine()["f"]) == str(Djangos()["f"])
    assert str(Mine(initial={"f": "FR"})["f"]) == str(Djangos(initial={"f": "FR"})["f"])
