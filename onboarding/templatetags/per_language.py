"""{% per_language %}…{% endper_language %}: a part of a template that depends on nothing but the
language (translated words, static files, URLs without arguments) is rendered once per process
and language, then reused.

The layout every page shares is mostly such parts, and each translated word, static URL and URL
reversal costs as much as a small template of its own: the layout alone was half of what a
textbook Django page costs in all (bench/RESULTS.md). What goes inside must not read the request,
the user or the page's context; a test renders every page that uses it in both languages."""
from django import template
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

register = template.Library()


class PerLanguageNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist
        # Kept on the node, which lives as long as its compiled template (the cached loader
        # keeps templates for the life of the process).
        self.rendered = {}

    def render(self, context):
        language = get_language()
        try:
            return self.rendered[language]
        except KeyError:
            html = self.rendered[language] = mark_safe(self.nodelist.render(context))
            return html


@register.tag
def per_language(parser, token):
    nodelist = parser.parse(("endper_language",))
    parser.delete_first_token()
    return PerLanguageNode(nodelist)
