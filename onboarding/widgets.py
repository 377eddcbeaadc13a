"""A select that writes its options in Python, with the markup of Django's own select templates.

The country and time-zone lists have hundreds of options: Django builds a dict per option and
includes one template for each, which made rendering them most of the calling step's time and
much of the organisation steps'. The options are the same, chosen and escaped as Django does."""
import html

from django import forms
from django.utils.safestring import mark_safe


def _escape(value):
    """django.utils.html.conditional_escape, without its per-call lazy-string wrapper."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


class OptionsSelect(forms.Select):
    template_name = "onboarding/widgets/select.html"

    def get_context(self, name, value, attrs):
        # Widget's context without ChoiceWidget's optgroups, which this template does not read.
        context = forms.Widget.get_context(self, name, value, attrs)
        context["widget"]["options_html"] = self.options_html(context["widget"]["value"])
        return context

    def options_html(self, value):
        """What django/forms/widgets/select.html writes between <select> and </select>, with
        the selection of ChoiceWidget.optgroups (`value` as format_value gives it)."""
        parts, has_selected = [], False
        for option_value, option_label in self.choices:
            if option_value is None:
                option_value = ""
            if isinstance(option_label, (list, tuple)):
                group, choices = option_value, option_label
            else:
                group, choices = None, [(option_value, option_label)]
            if group:
                parts.append(f'\n  <optgroup label="{_escape(group)}">')
            for subvalue, sublabel in choices:
                selected = (not has_selected or self.allow_multiple_selected) and str(subvalue) in value
                has_selected |= selected
                parts.append(f'\n  <option value="{_escape(subvalue)}"{" selected" if selected else ""}>'
                             f'{_escape(sublabel)}</option>\n')
            if group:
                parts.append("\n  </optgroup>")
        return mark_safe("".join(parts))
