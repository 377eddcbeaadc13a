"""French ships with every message: a new English string without its French fails here."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["config", "orders", "orgs", "provisioning", "onboarding", "templates", "static", "locale",
           "manage.py", "scripts"]
APPS = ["orders", "orgs", "provisioning", "onboarding"]


@pytest.fixture(scope="module")
def fresh_catalogue(tmp_path_factory):
    """makemessages run over a copy of the tree, merged with our French catalogues."""
    copy = tmp_path_factory.mktemp("i18n")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("vendor", "__pycache__"))
        elif source.exists():
            shutil.copy(source, copy / name)
    admin = Path(sys.executable).parent / "django-admin"
    subprocess.run(["sh", "scripts/makemessages.sh", str(admin)], cwd=copy, check=True,
                   capture_output=True, timeout=300)
    return [copy / "locale/fr/LC_MESSAGES/django.po"] + [
        copy / app / "locale/fr/LC_MESSAGES/django.po" for app in APPS]


def msgattrib(catalogues, flag):
    found = []
    for po in catalogues:
        result = subprocess.run(["msgattrib", flag, "--no-obsolete", "--no-wrap", str(po)],
                                capture_output=True, text=True, check=True)
        found += [f"{po.parent.parent.parent.parent.name}: {line[len('msgid '):]}"
                  for line in result.stdout.splitlines()
                  if line.startswith("msgid ") and line != 'msgid ""']
    return found


def test_every_message_has_a_french_translation(fresh_catalogue):
    missing = msgattrib(fresh_catalogue, "--untranslated")
    assert not missing, f"{len(missing)} message(s) without French (run `make messages`): {missing[:20]}"


def test_no_french_translation_is_fuzzy(fresh_catalogue):
    fuzzy = msgattrib(fresh_catalogue, "--only-fuzzy")
    assert not fuzzy, f"fuzzy French translations to review: {fuzzy[:20]}"


@pytest.mark.django_db
def test_the_home_page_speaks_french_when_asked(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert 'lang="fr"' in response.content.decode()
    assert "Se connecter" in response.content.decode()


@pytest.mark.django_db
def test_the_language_switch_sets_french(client):
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/"}, follow=True)
    assert 'lang="fr"' in response.content.decode()
