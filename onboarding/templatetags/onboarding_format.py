"""How the setup pages show a country and an email address."""
import re

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from onboarding import countries

register = template.Library()


@register.filter
def country_name(code):
    """FR → France (Pays in French pages): the name the calling step shows, not the code."""
    return countries.country_name(code) if code else ""


@register.filter
def breakable_email(value):
    """An address that may wrap on a narrow screen before its @ and its dots, not mid-word."""
    return mark_safe(re.sub(r"([@.])", r"<wbr>\1", str(conditional_escape(value))))
