"""{% form_fields form %} writes a form as templates/includes/form.html wrote it (below, word for
word): every form of the site, unbound, with errors and valid, in both languages."""
import pytest
from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.template import Context, Template
from django.template.loader import get_template
from django.utils import translation
from django.utils.safestring import mark_safe

from onboarding.forms import (AdminPasswordForm, ConfirmForm, CustomerAdminForm, CustomerOrgForm,
                              InstallerForm, MemberPasswordResetForm, PartnerOrgForm, RoleForm)
from onboarding.webex_setup_forms import CallingSettingsForm, MeetingSettingsForm
from provisioning.forms import ChangeContactForm, ContactedForm, StalledFilterForm
from tests.factories import InstallerFactory, OrderFactory

TEMPLATE_IT_REPLACES = (
    '{% load i18n %}{% if form.non_field_errors %}<div class="errorlist-box" role="alert">{% for e in form.non_field_errors %}<p>{{ e }}</p>{% endfor %}</div>{% endif %}\n'
    '{% for hidden in form.hidden_fields %}{{ hidden }}{% endfor %}\n'
    '{% for field in form.visible_fields %}\n'
    '<div class="field{% if field.errors %} has-error{% endif %}">\n'
    '  {% if field.widget_type == "checkbox" %}\n'
    '    <label class="check">{{ field }} {{ field.label }}</label>\n'
    '  {% elif field.widget_type == "radioselect" %}\n'
    '    <fieldset><legend>{{ field.label }}</legend>{% for radio in field %}<label class="radio">{{ radio.tag }} {{ radio.choice_label }}</label>{% endfor %}</fieldset>\n'
    '  {% else %}\n'
    '    <label for="{{ field.id_for_label }}">{{ field.label }}</label>\n'
    '    {{ field }}\n'
    '  {% endif %}\n'
    '  {% if field.help_text %}<p class="help" id="{{ field.auto_id }}_helptext">{{ field.help_text }}</p>{% endif %}\n'
    '  {% for error in field.errors %}<p class="error" id="{{ field.auto_id }}_error">{{ error }}</p>{% endfor %}\n'
    '</div>\n'
    '{% endfor %}\n'
)


class Everything(forms.Form):
    agree = forms.BooleanField(label="I agree <b>", help_text=mark_safe("<i>safe</i> help"))
    kind = forms.ChoiceField(choices=[("a", "A & B"), ("c", mark_safe("<b>C</b>"))],
                             widget=forms.RadioSelect, label="Kind")
    note = forms.CharField(widget=forms.Textarea, help_text="Less < more", required=False)
    secret = forms.CharField(widget=forms.HiddenInput, required=False)
    count = forms.IntegerField(label="Count", initial=1200)

    def clean(self):
        raise forms.ValidationError("Both <fields> & more")


DATA = [None, {}, {"role-role": "partner", "agree": "on", "kind": "a", "count": "x",
                   "installer-choice": "self", "installer-email": "not an email",
                   "email": "a@b.example", "country": "FR", "partner_org-name": "<Acme>",
                   "new_password1": "short", "new_password2": "other"}]


def forms_to_show():
    order = OrderFactory()
    user = InstallerFactory()
    return [lambda **kw: Everything(**kw), lambda **kw: RoleForm(prefix="role", **kw),
            lambda **kw: InstallerForm(prefix="installer", **kw),
            lambda **kw: PartnerOrgForm(prefix="partner_org", **kw),
            lambda **kw: CustomerOrgForm(**kw), lambda **kw: ConfirmForm(**kw),
            lambda **kw: CustomerAdminForm(order=order, **kw),
            lambda **kw: AdminPasswordForm(user, **kw), lambda **kw: MemberPasswordResetForm(**kw),
            lambda **kw: AuthenticationForm(**kw), lambda **kw: PasswordChangeForm(user, **kw),
            lambda **kw: CallingSettingsForm(**kw), lambda **kw: MeetingSettingsForm(**kw),
            lambda **kw: StalledFilterForm(**kw), lambda **kw: ChangeContactForm(**kw),
            lambda **kw: ContactedForm(**kw)]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_form_is_written_as_the_template_wrote_it(language):
    tag = Template("{% load form_fields %}{% form_fields form %}")
    old = Template(TEMPLATE_IT_REPLACES)
    with translation.override(language):
        for make in forms_to_show():
            for data in DATA:
                kwargs = {} if data is None else {"data": data}
                assert tag.render(Context({"form": make(**kwargs)})) == \
                    old.render(Context({"form": make(**kwargs)}))


def test_the_site_template_is_it():
    page = get_template("includes/form.html").render({"form": Everything(data={})})
    assert page == Template(TEMPLATE_IT_REPLACES).render(Context({"form": Everything(data={})}))
    assert 'class="errorlist-box"' in page and 'type="radio"' in page and "has-error" in page
