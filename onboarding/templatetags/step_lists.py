"""The lists of steps at the top of the wizard and of the service setup assistant, written in
Python rather than by a template loop (a dozen tags and a translated name a step, on every page).
tests/test_per_language.py and tests/test_service_setup.py hold them to the loops they replace.

{% wizard_progress progress %}: the wizard's, as WizardView.progress() gives it. There are only a
few (a path through the wizard, a current step, a language), so each is written once per process
and kept.

{% service_steps steps %}: the assistant's, as its views' step context gives it (each with its
order's URL, so not kept)."""
from django import template
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

register = template.Library()

_written = {}


@register.simple_tag
def wizard_progress(progress):
    key = (get_language(), tuple((step["key"], step["state"]) for step in progress))
    try:
        return _written[key]
    except KeyError:
        pass
    done = format_html('<span class="visually-hidden"> — {}</span>', _("done"))
    html = _written[key] = format_html_join("", (
        '<li class="{}"{}><span class="num" aria-hidden="true">{}</span>'
        '<span class="label">{}</span>{}</li>'), (
        (step["state"], mark_safe(' aria-current="step"') if step["state"] == "current" else "",
         number, step["name"], done if step["state"] == "done" else "")
        for number, step in enumerate(progress, 1)))
    return html


@register.simple_tag
def service_steps(steps):
    done = f'<span class="visually-hidden">({conditional_escape(_("done"))})</span>'
    items = []
    for step in steps:
        label = conditional_escape(step["label"])
        current = step["current"]
        shown = (f'<a href="{conditional_escape(step["url"])}">{label}</a>'
                 if step["reachable"] and not current else label)
        state = "current" if current else "done" if step["done"] else ""
        aria = ' aria-current="step"' if current else ""
        items.append(f'\n        <li class="{state}"{aria}>\n          {shown}'
                     f'\n          {done if step["done"] else ""}\n        </li>\n      ')
    return mark_safe("".join(items))
