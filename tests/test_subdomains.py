"""Subdomain rules, availability and suggestions (orgs/subdomains.py)."""
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation
from hypothesis import given, settings as hsettings, strategies as st

from orgs import subdomains
from orgs.models import Organization
from tests.factories import CustomerOrgFactory


@pytest.mark.parametrize("value", ["abc", "boulangerie-martin", "a1b2", "x" * 30, "123",
                                   "a-b-c", "lyon-69"])
def test_it_accepts_a_valid_subdomain(value):
    assert subdomains.problem(value) is None
    subdomains.validate(value)


@pytest.mark.parametrize("value, code", [
    ("ab", "too_short"),
    ("", "too_short"),
    ("x" * 31, "too_long"),
    ("-acme", "hyphen_ends"),
    ("acme-", "hyphen_ends"),
    ("acme_shop", "chars"),
    ("acme.shop", "chars"),
    ("acme shop", "chars"),
    ("Acme", "chars"),
    ("boulangerie-médard", "ascii"),
    ("straße", "ascii"),
    ("аcme", "ascii"),  # Cyrillic а: a homograph of "acme"
    ("acme\u200b", "ascii"),  # zero-width space
    ("ｅｘａｍｐｌｅ", "ascii"),  # full-width letters
    ("www", "reserved"),
    ("admin", "reserved"),
    ("api", "reserved"),
    ("mail", "reserved"),
    ("webex", "reserved"),
])
def test_it_refuses_a_subdomain_that_breaks_a_rule(value, code):
    assert subdomains.problem(value) == code
    with pytest.raises(ValidationError) as error:
        subdomains.validate(value)
    assert error.value.code == code


@translation.override("en")
def test_the_length_messages_name_the_limits():
    with pytest.raises(ValidationError) as error:
        subdomains.validate("ab")
    assert "at least 3 characters" in error.value.messages[0]
    with pytest.raises(ValidationError) as error:
        subdomains.validate("x" * 31)
    assert "at most 30 characters" in error.value.messages[0]


def test_normalise_lowercases_and_trims_what_the_user_typed():
    assert subdomains.normalise("  Boulangerie-Martin ") == "boulangerie-martin"


@given(st.text(max_size=40))
@hsettings(max_examples=300, deadline=None)
def test_whatever_passes_the_rules_is_a_safe_dns_label(value):
    if subdomains.problem(value) is None:
        assert value.isascii() and 3 <= len(value) <= 30
        assert set(value) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
        assert not value.startswith("-") and not value.endswith("-")


@pytest.mark.django_db
def test_availability_ignores_letter_case():
    CustomerOrgFactory(subdomain="acme")
    assert not subdomains.is_available("acme")
    assert not subdomains.is_available("ACME")
    assert subdomains.is_available("acme2")


@pytest.mark.django_db
def test_an_org_s_own_subdomain_is_available_to_itself():
    org = CustomerOrgFactory(subdomain="acme")
    assert subdomains.is_available("acme", exclude_org=org)


@pytest.mark.django_db
def test_the_database_refuses_the_same_subdomain_in_another_letter_case():
    CustomerOrgFactory(subdomain="acme")
    other = CustomerOrgFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=other.pk).update(subdomain="ACME")


@pytest.mark.django_db
def test_it_suggests_three_available_valid_names_close_to_the_one_taken():
    org = CustomerOrgFactory(name="Boulangerie Martin", city="Lyon", country="FR")
    CustomerOrgFactory(subdomain="boulangerie")
    CustomerOrgFactory(subdomain="boulangerie-lyon")  # the first idea is taken too
    suggestions = subdomains.suggestions("boulangerie", org)
    assert len(suggestions) == 3
    assert "boulangerie-lyon" not in suggestions and "boulangerie" not in suggestions
    for name in suggestions:
        assert subdomains.problem(name) is None
        assert subdomains.is_available(name)
        assert name.startswith("boulangerie")
    assert suggestions[0] == "boulangerie-martin"


@pytest.mark.django_db
@pytest.mark.parametrize("reserved", ["www", "WWW", "admin", "webex"])
def test_a_reserved_word_is_left_out_of_the_suggestions_for_the_customers_name(reserved):
    org = CustomerOrgFactory(name="Boulangerie Martin", city="Lyon", country="FR")
    assert subdomains.suggestions(reserved, org) == [
        "boulangerie-martin", "boulangerie-martin-lyon", "boulangerie-martin-fr"]


@pytest.mark.django_db
def test_after_a_reserved_word_the_names_taken_are_skipped_too():
    org = CustomerOrgFactory(name="Boulangerie Martin", city="Lyon", country="FR")
    CustomerOrgFactory(subdomain="Boulangerie-Martin")
    suggestions = subdomains.suggestions("www", org)
    assert suggestions == ["boulangerie-martin-lyon", "boulangerie-martin-fr",
                           "boulangerie-martin-webex"]


@pytest.mark.django_db
def test_suggestions_fit_thirty_characters_and_fold_accents(django_assert_max_num_queries):
    org = CustomerOrgFactory(name="Pâtisserie Éléonore", city="Besançon")
    wanted = "patisserie-eleonore-de-besancon"[:30]
    CustomerOrgFactory(subdomain=wanted)
    with django_assert_max_num_queries(1):
        suggestions = subdomains.suggestions(wanted, org)
    assert len(suggestions) == 3
    assert all(len(s) <= 30 and subdomains.problem(s) is None for s in suggestions)


@pytest.mark.django_db
def test_suggestions_for_a_non_ascii_wish_are_ascii():
    org = CustomerOrgFactory(name="Crêperie Noël", city="Quimper")
    suggestions = subdomains.suggestions("crêperie-noël", org)
    assert suggestions and all(s.isascii() for s in suggestions)
    assert suggestions[0].startswith("creperie-noel")
