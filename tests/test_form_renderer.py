"""config.form_renderer writes Django's input widgets in Python: every input and option must be
the markup Django's own templates write, character for character, and any template that is not
Django's own word for word must still be rendered by the template."""
import re

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.test import override_settings
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from config.form_renderer import INPUT, OPTION_TEMPLATES, SELECT, Renderer
from tests.wizard_helpers import open_link

DJANGO = DjangoTemplates()
MINE = Renderer()

ATTRS = [{}, {"id": "id_f", "required": True, "autocomplete": "email"},
         {"id": 'x"<y>&', "maxlength": 100, "disabled": False, "data-q": mark_safe("<b>")},
         {"class": "a b", "aria-describedby": "id_f_helptext id_f_error", "autofocus": True}]
VALUES = [None, "", "Inès", 'O\'Neil "&" <Fils>', mark_safe("<i>safe</i>"), 42, 3.5, ("a", "b"),
          gettext_lazy("English")]
WIDGETS = [forms.TextInput, forms.EmailInput, forms.HiddenInput, forms.NumberInput,
           forms.URLInput, forms.DateInput, forms.CheckboxInput,
           lambda **kw: forms.PasswordInput(render_value=True, **kw), forms.PasswordInput]


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("attrs", ATTRS)
@pytest.mark.parametrize("widget", WIDGETS)
def test_inputs_are_djangos_markup(widget, attrs, language):
    with translation.override(language):
        for value in VALUES:
            mine = widget(attrs=attrs).render("f", value, renderer=MINE)
            assert mine == widget(attrs=attrs).render("f", value, renderer=DJANGO), value


CHOICES = [("partner", gettext_lazy("English")), ("a&b", 'x"<y>'), (5, mark_safe("<b>five</b>")),
           ("", "none")]


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("field_class, widget", [
    (forms.ChoiceField, forms.RadioSelect),
    (forms.MultipleChoiceField, forms.CheckboxSelectMultiple),
])
@pytest.mark.parametrize("data", [None, {"f": "a&b"}, {"f": "5"}, {"f": "nope"}])
def test_radio_and_checkbox_options_are_djangos_markup(field_class, widget, data, language):
    def options(renderer):
        form = forms.Form(data=data, renderer=renderer)
        form.fields["f"] = field_class(choices=CHOICES, widget=widget)
        field = form["f"]
        return ([str(option) for option in field], [option.tag() for option in field],
                [option.tag(wrap_label=False) for option in field], str(field))

    with translation.override(language):
        assert options(MINE) == options(DJANGO)


GROUPED = [("", "none"), (gettext_lazy("English"), [("a&b", 'x"<y>'), (5, mark_safe("<b>5</b>"))]),
           ('O"Neil <g>', [("x", "X"), ("y", gettext_lazy("French"))]), ("z", "last")]


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("attrs", ATTRS)
@pytest.mark.parametrize("widget", [forms.Select, forms.SelectMultiple, forms.NullBooleanSelect])
def test_selects_are_djangos_markup(widget, attrs, language):
    with translation.override(language):
        for choices in ([], CHOICES, GROUPED):
            values = [None, "", "a&b", 5, ["a&b", "y"], "nope", True, "unknown"]
            made = widget(attrs=attrs)
            if widget is forms.NullBooleanSelect:
                values = [None, "", True, False, "true", "unknown", "2"]
            else:
                made.choices = choices
            for value in values:
                mine = made.render("f", value, renderer=MINE)
                assert mine == made.render("f", value, renderer=DJANGO), (choices, value)


def test_a_select_whose_options_have_another_template_is_rendered_by_the_templates():
    class Marked(forms.Select):
        option_template_name = "django/forms/widgets/input_option.html"

    widget = Marked(choices=CHOICES)
    assert widget.render("f", "a&b", renderer=MINE) == widget.render("f", "a&b", renderer=DJANGO)
    assert "<option" not in widget.render("f", "a&b", renderer=MINE)


def test_it_writes_the_inputs_and_options_itself():
    assert {INPUT.replace("input", name) for name in ("text", "email", "password", "hidden")} \
        <= set(MINE.writers)
    assert set(OPTION_TEMPLATES) <= set(MINE.writers)
    assert SELECT in MINE.writers


def test_a_template_that_is_not_djangos_own_is_rendered_by_the_template():
    class Overridden(Renderer):
        def _source(self, template_name):
            source = super()._source(template_name)
            return source.replace("<input", "<input data-ours") if template_name == INPUT else source

    renderer = Overridden()
    assert renderer.writers == {}
    assert forms.TextInput().render("f", "x", renderer=renderer) == \
        forms.TextInput().render("f", "x", renderer=DJANGO)


def test_an_overridden_select_template_keeps_the_select_to_the_templates_only():
    class Overridden(Renderer):
        def _source(self, template_name):
            source = super()._source(template_name)
            return source.replace("<option", "<option data-ours") \
                if template_name.endswith("select_option.html") else source

    renderer = Overridden()
    assert SELECT not in renderer.writers and INPUT.replace("input", "text") in renderer.writers


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
def test_wizard_pages_are_the_same_page_with_djangos_renderer(client, language):
    """Whole steps, bound and with errors: what the partner sees does not depend on the renderer."""
    from tests.factories import EmailedOrderFactory

    order = EmailedOrderFactory()
    client.cookies["django_language"] = language
    url = f"/setup/orders/{order.number}/"
    prefix = f"setup_{order.pk}"
    pages = []
    for renderer in ("config.form_renderer.Renderer", "django.forms.renderers.DjangoTemplates"):
        with override_settings(FORM_RENDERER=renderer):
            open_link(client, order)  # a new link starts the wizard over
            role = client.get(url)
            client.post(url, {f"{prefix}-current_step": "role", "role-role": "partner"})
            installer = client.post(url, {f"{prefix}-current_step": "installer",
                                          "installer-choice": "self", "installer-email": "x@"})
            client.post(url, {f"{prefix}-current_step": "installer",
                              "wizard_goto_step": "role"})
            pages.append([CSRF.sub("", page.content.decode()) for page in (role, installer)])
    assert pages[0] == pages[1]
    assert 'type="radio"' in pages[0][0] and "installer-email" in pages[0][1]
    assert 'class="error"' in pages[0][1]
