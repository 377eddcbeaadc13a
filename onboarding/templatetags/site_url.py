"""{% site_url %}: the base of emailed links, from settings.SITE_URL, never the request's Host."""
from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def site_url():
    return settings.SITE_URL
