"""Production's static storage (config/storage.py) gives each asset WhiteNoise's hashed URL, the
same one every time, and works it out once per process."""
import pytest
from django.core.management import call_command
from django.test import override_settings
from whitenoise.storage import CompressedManifestStaticFilesStorage

from config.storage import StaticFilesStorage

ASSETS = ["css/site.css", "css/wizard.css", "js/site.js", "img/favicon.svg",
          "vendor/momentum/tokens.css"]


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    storages = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                "staticfiles": {"BACKEND": "config.storage.StaticFilesStorage"}}
    with override_settings(STATIC_ROOT=root, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield root


def test_urls_are_whitenoises_hashed_ones(collected):
    with override_settings(STATIC_ROOT=collected):
        ours, theirs = StaticFilesStorage(), CompressedManifestStaticFilesStorage()
        for name in ASSETS:
            url = ours.url(name)
            assert url == theirs.url(name) and url != f"/static/{name}"
            assert ours.url(name) == url


def test_each_url_is_worked_out_once(collected, monkeypatch):
    with override_settings(STATIC_ROOT=collected):
        storage = StaticFilesStorage()
        first = storage.url("css/site.css")
        monkeypatch.setattr(storage, "stored_name", lambda name: pytest.fail("looked up again"))
        assert storage.url("css/site.css") == first


def test_a_missing_asset_is_still_an_error(collected):
    with override_settings(STATIC_ROOT=collected):
        storage = StaticFilesStorage()
        for _ in range(2):
            with pytest.raises(ValueError):
                storage.url("css/nope.css")
