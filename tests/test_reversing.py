"""config.reversing.reverse_with answers what reverse() answers, URL for URL, error for error."""
import pytest
from django.urls import NoReverseMatch, get_script_prefix, reverse, set_script_prefix

from config.reversing import reverse_with


@pytest.mark.parametrize("name, value, rest", [
    ("provisioning:resend", "CCW-10000009", ()),
    ("provisioning:resend", "CCW/2026/7", ()),
    ("onboarding:service_step", "CCW-1.2_3", ("calling",)),
    ("onboarding:service_step", "CCW/1", ("meetings",)),
    ("admin:orders_order_change", 42, ()),
])
def test_the_same_url_as_reverse_under_any_prefix(name, value, rest):
    before = get_script_prefix()
    try:
        for prefix in ("/", "/onboarding/", "/"):
            set_script_prefix(prefix)
            assert reverse_with(name, value, *rest) == reverse(name, args=[value, *rest])
            assert reverse_with(name, value, *rest).startswith(prefix)
    finally:
        set_script_prefix(before)


@pytest.mark.parametrize("name, value, rest", [
    ("provisioning:resend", "has space", ()),  # the converter refuses it
    ("onboarding:service_step", "CCW-1", ("not a slug",)),
    ("no:such_url", "x", ()),
])
def test_the_same_error_as_reverse(name, value, rest):
    with pytest.raises(NoReverseMatch):
        reverse(name, args=[value, *rest])
    with pytest.raises(NoReverseMatch):
        reverse_with(name, value, *rest)
