"""{% wizard_progress progress %}: the wizard's list of steps, as WizardView.progress() gives it.

A template loop wrote it on every page (six steps, each name translated again); there are only a
few lists (a path through the wizard, a current step, a language), so each is written once per
process and kept."""
from django import template
from django.utils.html import format_html, format_html_join
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
