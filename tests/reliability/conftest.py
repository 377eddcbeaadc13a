import pytest

from config import broker


@pytest.fixture(autouse=True)
def _broker_breaker_closed():
    """Each test starts with the broker breaker closed (config/broker.py): a test that stopped
    Redis must not leave the next one skipping the broker."""
    broker.reset()
    yield
    broker.reset()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Sign-in and user creation hash passwords on purpose slowly; these tests are about
    # behaviour, and the suite shares two cores.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
