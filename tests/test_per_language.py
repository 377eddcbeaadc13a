"""{% per_language %} keeps a rendered part of a template for the life of the process, per
language. Nothing in such a part may come from the request, the user or the page, or one
person's page would show another's; and each language keeps its own words."""
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

from tests.factories import EmailedOrderFactory
from tests.wizard_helpers import open_link

# What a per_language part may read: the language, the list of languages, the loop over it.
ALLOWED = {"LANGUAGE_CODE", "LANGUAGES", "code", "name"}
PART = re.compile(r"{% per_language %}(.*?){% endper_language %}", re.S)
READS = re.compile(r"{{\s*(.*?)\s*}}|{%\s*(?:if|elif|for|with|url|static|include|blocktranslate|translate)\s+(.*?)%}", re.S)
STRINGS = re.compile(r"\"[^\"]*\"|'[^']*'")
KEYWORDS = {"in", "not", "and", "or", "is", "None", "True", "False", "as", "with", "trimmed",
            "context", "noop", "only", "count"}


def templates_using_it():
    roots = [Path(settings.BASE_DIR)]
    return [path for root in roots for path in root.rglob("*.html")
            if ".venv" not in path.parts and "{% per_language %}" in path.read_text()]


def test_parts_kept_per_language_read_nothing_but_the_language():
    paths = templates_using_it()
    assert any(path.name == "base.html" for path in paths)
    for path in paths:
        for part in PART.findall(path.read_text()):
            for expression in READS.findall(part):
                words = re.findall(r"[A-Za-z_][\w.]*", STRINGS.sub("", " ".join(expression)))
                names = {word.split(".")[0] for word in words} - KEYWORDS
                # Filters (after |) are not names: drop what follows a pipe.
                names -= set(re.findall(r"\|\s*(\w+)", " ".join(expression)))
                assert names <= ALLOWED, f"{path.name}: a per_language part reads {names - ALLOWED}"


def test_each_language_renders_its_part_once_and_keeps_its_own_words():
    template = Template("{% load i18n per_language %}{% per_language %}"
                        "{% translate 'Skip to content' %} {{ n }}{% endper_language %}")
    seen = []
    for language in ("en", "fr", "en", "fr"):
        with translation.override(language):
            seen.append(template.render(Context({"n": len(seen)})))
    assert seen == ["Skip to content 0", "Aller au contenu 1", "Skip to content 0",
                    "Aller au contenu 1"]


@pytest.mark.django_db
def test_pages_in_both_languages_one_after_the_other(client):
    order = EmailedOrderFactory()
    open_link(client, order)
    url = f"/setup/orders/{order.number}/"
    for language, words, other in [("en", "Skip to content", "Aller au contenu"),
                                   ("fr", "Aller au contenu", "Skip to content"),
                                   ("en", "Skip to content", "Aller au contenu")]:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        page = client.get(url).content.decode()
        assert words in page and other not in page
        assert f'<html lang="{language}">' in page
        assert f'lang="{language}" aria-current="true"' in page


def test_no_block_is_kept_per_language():
    """A block inside a kept part would show the first page's version of it on every page."""
    for path in templates_using_it():
        for part in PART.findall(path.read_text()):
            assert "{% block" not in part, path.name


OLD_PROGRESS_LOOP = (
    '{% load i18n %}{% for s in progress %}<li class="{{ s.state }}"{% if s.state == "current" %}'
    ' aria-current="step"{% endif %}><span class="num" aria-hidden="true">{{ forloop.counter }}'
    '</span><span class="label">{{ s.name }}</span>{% if s.state == "done" %}<span class="'
    'visually-hidden"> — {% translate "done" %}</span>{% endif %}</li>{% endfor %}')


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_wizard_progress_is_the_list_the_template_loop_wrote(language):
    from onboarding.wizard import ALL_STEPS, STEP_NAMES

    new = Template("{% load step_lists %}{% wizard_progress progress %}")
    with translation.override(language):
        for steps in (ALL_STEPS, ["role", "installer", "confirm"], ["customer_org", "confirm"]):
            for current in range(len(steps)):
                progress = [{"key": key, "name": STEP_NAMES[key],
                             "state": "done" if i < current else
                             "current" if i == current else "todo"}
                            for i, key in enumerate(steps)]
                for _ in range(2):  # written, then kept
                    assert new.render(Context({"progress": progress})) == \
                        Template(OLD_PROGRESS_LOOP).render(Context({"progress": progress}))
