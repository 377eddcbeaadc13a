"""Django's form renderer, with its input widgets written in Python (settings.FORM_RENDERER).

Every text, email, password, hidden or checkbox input, each radio or checkbox option, and each
option of a select, is one to three template includes in Django (input.html with attrs.html,
input_option.html, select_option.html): on a wizard step that was most of what rendering its
form cost, and on the rep dashboard its filters' options were forty-odd includes. This renderer writes the same markup
in Python, for those templates only and only while they are Django's own, word for word: the
sources below are checked against the installed templates when the renderer starts, so an
overriding project template or another Django version falls back to the templates. Everything
else is rendered by Django's templates, as before."""
import html

from django.forms.renderers import DjangoTemplates
from django.template import TemplateDoesNotExist
from django.utils.formats import localize
from django.utils.functional import Promise
from django.utils.safestring import SafeData

WIDGETS = "django/forms/widgets/"
INPUT = WIDGETS + "input.html"
INPUT_OPTION = WIDGETS + "input_option.html"
SELECT = WIDGETS + "select.html"
SELECT_OPTION = WIDGETS + "select_option.html"

# The templates this module writes in Python, as Django 5.2 ships them.
SOURCES = {
    INPUT: ('<input type="{{ widget.type }}" name="{{ widget.name }}"{% if widget.value != None %}'
            ' value="{{ widget.value|stringformat:\'s\' }}"{% endif %}'
            '{% include "django/forms/widgets/attrs.html" %}>\n'),
    WIDGETS + "attrs.html": (
        '{% for name, value in widget.attrs.items %}{% if value is not False %} {{ name }}'
        '{% if value is not True %}="{{ value|stringformat:\'s\' }}"{% endif %}{% endif %}'
        '{% endfor %}'),
    INPUT_OPTION: ('{% if widget.wrap_label %}<label{% if widget.attrs.id %} for="'
                   '{{ widget.attrs.id }}"{% endif %}>{% endif %}'
                   '{% include "django/forms/widgets/input.html" %}'
                   '{% if widget.wrap_label %} {{ widget.label }}</label>{% endif %}\n'),
}
SELECT_SOURCES = {
    SELECT: ('<select name="{{ widget.name }}"{% include "django/forms/widgets/attrs.html" %}>'
             '{% for group_name, group_choices, group_index in widget.optgroups %}'
             '{% if group_name %}\n  <optgroup label="{{ group_name }}">{% endif %}'
             '{% for option in group_choices %}\n  '
             '{% include option.template_name with widget=option %}{% endfor %}'
             '{% if group_name %}\n  </optgroup>{% endif %}{% endfor %}\n</select>\n'),
    SELECT_OPTION: ('<option value="{{ widget.value|stringformat:\'s\' }}"'
                    '{% include "django/forms/widgets/attrs.html" %}>{{ widget.label }}</option>\n'),
}
INCLUDES_INPUT = '{% include "django/forms/widgets/input.html" %}\n'
INCLUDES_INPUT_OPTION = '{% include "django/forms/widgets/input_option.html" %}\n'
INPUT_TEMPLATES = [WIDGETS + f"{name}.html" for name in (
    "text", "email", "password", "hidden", "number", "url", "tel", "search", "color", "date",
    "datetime", "time", "checkbox")]
OPTION_TEMPLATES = [WIDGETS + "radio_option.html", WIDGETS + "checkbox_option.html"]


def rendered(value):
    """What `{{ value }}` writes in a template: localised, then escaped unless already safe."""
    value = localize(value)
    if isinstance(value, Promise):  # a lazy translation, or a lazy safe string
        value = str(value)
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def _formatted(value):
    """`{{ value|stringformat:'s' }}` (a filter that keeps safe strings safe)."""
    try:
        text = "%s" % (str(value) if isinstance(value, tuple) else value)
    except (ValueError, TypeError):
        text = ""
    return text if isinstance(value, SafeData) else html.escape(text)


def write_attrs(attrs):
    """What django/forms/widgets/attrs.html writes for a widget's attributes."""
    return "".join(f" {rendered(name)}" if value is True
                   else f' {rendered(name)}="{_formatted(value)}"'
                   for name, value in attrs.items() if value is not False)


def write_input(widget):
    value = widget["value"]
    value = "" if value is None else f' value="{_formatted(value)}"'
    return (f'<input type="{rendered(widget["type"])}" name="{rendered(widget["name"])}"{value}'
            f'{write_attrs(widget["attrs"])}>\n')


def write_input_option(widget):
    if not widget.get("wrap_label"):
        return write_input(widget) + "\n"
    target = widget["attrs"].get("id")
    label_for = f' for="{rendered(target)}"' if target else ""
    return f'<label{label_for}>{write_input(widget)} {rendered(widget["label"])}</label>\n'


def write_select(widget):
    """select.html, its options written as select_option.html writes them. None when an option
    has another template (a widget of the project's own): the templates render it all then."""
    parts = [f'<select name="{rendered(widget["name"])}"{write_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{rendered(group_name)}">')
        for option in group_choices:
            if option["template_name"] != SELECT_OPTION:
                return None
            parts.append(f'\n  <option value="{_formatted(option["value"])}"'
                         f'{write_attrs(option["attrs"])}>{rendered(option["label"])}</option>\n')
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>\n")
    return "".join(parts)


class Renderer(DjangoTemplates):
    def __init__(self):
        super().__init__()
        self.writers = {}
        if all(self._source(name) == source for name, source in SOURCES.items()):
            for name in INPUT_TEMPLATES:
                if self._source(name) == INCLUDES_INPUT:
                    self.writers[name] = write_input
            for name in OPTION_TEMPLATES:
                if self._source(name) == INCLUDES_INPUT_OPTION:
                    self.writers[name] = write_input_option
            if all(self._source(name) == source for name, source in SELECT_SOURCES.items()):
                self.writers[SELECT] = write_select

    def _source(self, template_name):
        try:
            template = self.get_template(template_name)
        except TemplateDoesNotExist:
            return None
        return getattr(getattr(template, "template", None), "source", None)

    def render(self, template_name, context, request=None):
        write = self.writers.get(template_name)
        written = write(context["widget"]) if write is not None else None
        if written is None:
            return super().render(template_name, context, request)
        return written.strip()
