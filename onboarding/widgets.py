"""A select that writes its options in Python, with the markup of Django's own select templates.

The country and time-zone lists have hundreds of options: Django builds a dict per option and
includes one template for each, which made rendering them most of the calling step's time and
much of the organisation steps'. The options are the same, chosen and escaped as Django does.

Choices given as a function (as the setup forms give them) are taken to depend on the active
language alone: their options are written once per language and process, and a request only
marks the selected one. Going through hundreds of choices again on every request (Django
normalises each of them) was still most of the calling step's time."""
from typing import NamedTuple

from django import forms
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from config.form_renderer import rendered, write_attrs


class Written(NamedTuple):
    """`html`: what django/forms/widgets/select.html writes between <select> and </select> when
    nothing is selected; `offsets`: {str(value): where " selected" goes}, at the first option of
    each value, as ChoiceWidget.optgroups selects only one; `empty_first`: whether the first
    choice has no value, which Select.use_required_attribute asks."""

    html: str
    offsets: dict
    empty_first: bool


def _write(choices):
    parts, offsets, length, empty_first = [], {}, 0, False
    for index, (option_value, option_label) in enumerate(choices):
        if index == 0:
            empty_first = option_value is None or option_value == ""
        if option_value is None:
            option_value = ""
        if isinstance(option_label, (list, tuple)):
            group, group_choices = option_value, option_label
        else:
            group, group_choices = None, [(option_value, option_label)]
        if group:
            parts.append(f'\n  <optgroup label="{rendered(group)}">')
            length += len(parts[-1])
        for subvalue, sublabel in group_choices:
            opening = f'\n  <option value="{rendered(subvalue)}"'
            offsets.setdefault(str(subvalue), length + len(opening))
            parts.append(f"{opening}>{rendered(sublabel)}</option>\n")
            length += len(parts[-1])
        if group:
            parts.append("\n  </optgroup>")
            length += len(parts[-1])
    return Written("".join(parts), offsets, empty_first)


class OptionsSelect(forms.Select):
    _written = {}  # {(choices function, language): _write's answer}, for the process

    def get_context(self, name, value, attrs):
        # Widget's context without ChoiceWidget's optgroups, which render() does not read.
        context = forms.Widget.get_context(self, name, value, attrs)
        context["widget"]["options_html"] = self.options_html(context["widget"]["value"])
        return context

    def render(self, name, value, attrs=None, renderer=None):
        """select.html and attrs.html's markup, written here too: through the template engine,
        the <select> tag around the options cost more than writing them."""
        widget = self.get_context(name, value, attrs)["widget"]
        return mark_safe(f'<select name="{rendered(widget["name"])}"{write_attrs(widget["attrs"])}>'
                         f'{widget["options_html"]}\n</select>')

    def written_options(self):
        function = getattr(self.choices, "func", None)  # a CallableChoiceIterator's
        if function is None:
            return _write(self.choices)
        key = (function, get_language())
        written = self._written.get(key)
        if written is None:
            written = self._written[key] = _write(self.choices)
        return written

    def use_required_attribute(self, initial):
        return (forms.Widget.use_required_attribute(self, initial)
                and self.written_options().empty_first)

    def options_html(self, value):
        """The options, the first one whose value is in `value` (as format_value gives it)
        selected."""
        options, offsets, _ = self.written_options()
        at = min((offsets[v] for v in value if v in offsets), default=None)
        if at is None:
            return mark_safe(options)
        return mark_safe(f"{options[:at]} selected{options[at:]}")
