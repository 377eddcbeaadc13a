from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def email_wrap(address):
    """An email address that a narrow table cell may wrap only after its @: browsers otherwise
    break after a hyphen ('webex-' / 'deploy@…'), which reads as two addresses."""
    local, at, domain = str(address).rpartition("@")
    if not at:
        return format_html('<span class="nobr">{}</span>', address)
    return format_html('<span class="nobr">{}@</span><wbr><span class="nobr">{}</span>', local, domain)
