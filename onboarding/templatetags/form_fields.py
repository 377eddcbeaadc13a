"""{% form_fields form %}: a form's fields as every page of the site shows them (errors first,
hidden fields, then each visible field with its label, help and errors), written in Python.

It is what templates/includes/form.html wrote, character for character (tests/test_form_fields.py
holds it to that template). A template asked for a dozen properties of every field: on a wizard
step, more than the rest of the page's content together."""
from django import template
from django.utils.safestring import mark_safe

from config.form_renderer import rendered

register = template.Library()


def _field(field):
    errors = field.errors
    kind = field.widget_type
    if kind == "checkbox":
        shown = f'\n    <label class="check">{rendered(field)} {rendered(field.label)}</label>\n  '
    elif kind == "radioselect":
        options = "".join(f'<label class="radio">{rendered(option.tag())} '
                          f'{rendered(option.choice_label)}</label>' for option in field)
        shown = f"\n    <fieldset><legend>{rendered(field.label)}</legend>{options}</fieldset>\n  "
    else:
        shown = (f'\n    <label for="{rendered(field.id_for_label)}">{rendered(field.label)}'
                 f'</label>\n    {rendered(field)}\n  ')
    help_text = field.help_text
    helps = (f'<p class="help" id="{rendered(field.auto_id)}_helptext">{rendered(help_text)}</p>'
             if help_text else "")
    problems = "".join(f'<p class="error" id="{rendered(field.auto_id)}_error">{rendered(error)}</p>'
                       for error in errors)
    return (f'\n<div class="field{" has-error" if errors else ""}">\n  {shown}\n  {helps}\n  '
            f'{problems}\n</div>\n')


@register.simple_tag
def form_fields(form):
    errors = form.non_field_errors()
    box = ('<div class="errorlist-box" role="alert">'
           + "".join(f"<p>{rendered(error)}</p>" for error in errors) + "</div>") if errors else ""
    hidden = "".join(rendered(field) for field in form.hidden_fields())
    return mark_safe(f"{box}\n{hidden}\n" + "".join(_field(field) for field in form.visible_fields())
                     + "\n")
