"""The service setup assistant (spec step 11): steps by services purchased, saving each step,
resuming at the first step not done, both languages, query budgets."""
import html as htmllib
import re

import pytest
from django.core.exceptions import ObjectDoesNotExist

from onboarding import countries
from provisioning import webex_setup
from provisioning.models import CallingSettings, Event, MeetingSettings, Subscription
from tests.service_helpers import (configure, reload, set_up_order, sign_in_installer, step_url,
                                   with_link)

pytestmark = pytest.mark.django_db


def step_names(html):
    steps = re.search(r'<ol class="steps">(.*?)</ol>', html, re.S).group(1)
    return [htmllib.unescape(re.sub(r"<[^>]+>|\(done\)|\(terminé\)", "", li)).strip()
            for li in re.findall(r"<li[^>]*>(.*?)</li>", steps, re.S)]


def current_step(html):
    return re.sub(r"<[^>]+>", "", re.search(r'<li[^>]*aria-current="step"[^>]*>(.*?)</li>', html,
                                            re.S).group(1)).strip()


@pytest.mark.parametrize("purchased, expected", [
    (["calling"], ["Subscription details", "Calling settings", "Enterprise settings",
                   "Deploy and start billing"]),
    (["meetings"], ["Subscription details", "Meeting settings", "Enterprise settings",
                    "Deploy and start billing"]),
    (["calling", "meetings"], ["Subscription details", "Calling settings", "Meeting settings",
                               "Enterprise settings", "Deploy and start billing"]),
    (["messaging"], ["Subscription details", "Enterprise settings", "Deploy and start billing"]),
])
def test_it_shows_the_steps_of_the_services_purchased(client, purchased, expected):
    order = set_up_order(purchased)
    sign_in_installer(client, order)
    html = client.get(step_url(order, "subscription")).content.decode()
    assert step_names(html) == expected
    assert current_step(html) == "Subscription details"


@pytest.mark.parametrize("purchased, absent", [(["calling"], "meetings"), (["meetings"], "calling"),
                                               (["messaging"], "calling")])
def test_a_step_for_a_service_not_purchased_is_not_found(client, purchased, absent):
    order = configure(set_up_order(purchased))
    sign_in_installer(client, order)
    assert client.get(step_url(order, absent)).status_code == 404


def test_the_wizard_hands_over_to_the_first_step(client):
    order = set_up_order()
    with_link(client, order)
    sign_in_installer(client, order)
    response = client.get("/services/", follow=True)
    assert response.redirect_chain[-1][0] == step_url(order, "subscription")


def test_subscription_details_show_services_quantities_id_and_start_date(client):
    order = set_up_order(["calling", "meetings"])
    sign_in_installer(client, order)
    html = client.get(step_url(order, "subscription")).content.decode()
    assert not Subscription.objects.filter(order=order).exists()  # a GET writes nothing
    for line in order.lines.all():
        assert line.sku in html
    assert "<td class=\"num\">50</td>" in html
    assert order.requested_start_date.strftime("%Y") in html
    client.post(step_url(order, "subscription"))
    subscription = Subscription.objects.get(order=order)
    assert re.fullmatch(r"Sub\d{9}", subscription.subscription_id)
    assert subscription.subscription_id in client.get(step_url(order, "subscription")).content.decode()
    client.post(step_url(order, "subscription"))
    assert Subscription.objects.filter(order=order).count() == 1


def test_next_on_subscription_details_records_the_review_and_goes_on(client):
    order = set_up_order(["calling"])
    sign_in_installer(client, order)
    response = client.post(step_url(order, "subscription"))
    assert response.status_code == 302 and response.url == step_url(order, "calling")
    assert Subscription.objects.get(order=order).reviewed_at is not None


def test_calling_settings_default_to_the_customer_s_country(client):
    order = set_up_order(["calling"], customer_country="BE", customer_city="Gent")
    webex_setup.mark_subscription_reviewed(order)
    sign_in_installer(client, order)
    response = client.get(step_url(order, "calling"))
    form = response.context["form"]
    assert form["country"].value() == "BE"
    assert form["time_zone"].value() == "Europe/Brussels"
    assert form["location_name"].value() == "Gent"
    html = response.content.decode()
    assert '<option value="BE" selected>Belgium</option>' in html
    assert '<option value="Europe/Brussels" selected>Europe/Brussels</option>' in html
    assert 'placeholder="012 34 56 78"' in html  # a Belgian example number


def calling_post(**changes):
    data = {"country": "FR", "time_zone": "Europe/Paris", "location_name": "Lyon head office",
            "main_number": "04 78 12 34 56"}
    data.update(changes)
    return data


def test_calling_settings_are_saved_with_the_number_in_e164(client):
    order = set_up_order(["calling", "meetings"])
    webex_setup.mark_subscription_reviewed(order)
    sign_in_installer(client, order)
    response = client.post(step_url(order, "calling"), calling_post())
    assert response.status_code == 302 and response.url == step_url(order, "meetings")
    saved = CallingSettings.objects.get(order=order)
    assert (saved.country, saved.time_zone, saved.location_name, saved.main_number) == (
        "FR", "Europe/Paris", "Lyon head office", "+33478123456")
    assert Event.objects.filter(order=order, kind=Event.Kind.SETTINGS_SAVED,
                                data__step="calling").exists()


@pytest.mark.parametrize("number", ["12345", "+1 212 555 0100", "06 12", "hello", "+33 9"])
def test_a_main_number_that_is_not_valid_for_the_country_is_refused(client, number):
    order = set_up_order(["calling"])
    webex_setup.mark_subscription_reviewed(order)
    sign_in_installer(client, order)
    response = client.post(step_url(order, "calling"), calling_post(main_number=number))
    assert response.status_code == 200
    assert "Enter a valid phone number for France, e.g. +33 1 23 45 67 89." in response.content.decode()
    assert not CallingSettings.objects.filter(order=order).exists()


def test_a_us_number_is_accepted_for_the_united_states(client):
    order = set_up_order(["calling"])
    webex_setup.mark_subscription_reviewed(order)
    sign_in_installer(client, order)
    response = client.post(step_url(order, "calling"),
                           calling_post(country="US", time_zone="America/Chicago",
                                        main_number="(312) 555-0123"))
    assert response.status_code == 302
    assert CallingSettings.objects.get(order=order).main_number == "+13125550123"


def test_an_unknown_time_zone_or_country_is_refused(client):
    order = set_up_order(["calling"])
    webex_setup.mark_subscription_reviewed(order)
    sign_in_installer(client, order)
    response = client.post(step_url(order, "calling"),
                           calling_post(time_zone="Mars/Olympus", country="ZZ"))
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"time_zone", "country"}


def test_the_country_list_is_real_and_every_default_time_zone_exists():
    from django.utils import translation

    codes = [code for code, _name in countries.country_choices()]
    assert len(codes) > 240 and "XK" in codes
    with translation.override("fr"):
        assert countries.country_name("DE") == "Allemagne"
    assert countries.country_name("DE") == "Germany"
    for code in codes:
        assert countries.default_time_zone(code) in countries.time_zones(), code
    assert countries.default_time_zone("DE") == "Europe/Berlin"  # zone.tab's, not UTC


@pytest.mark.parametrize("country,zone", [("AU", "Australia/Sydney"), ("CA", "America/Toronto"),
                                          ("US", "America/New_York"), ("FR", "Europe/Paris"),
                                          ("BR", "America/Sao_Paulo"), ("RU", "Europe/Moscow"),
                                          ("UA", "Europe/Kyiv")])
def test_a_country_s_default_time_zone_is_its_main_one(client, country, zone):
    order = set_up_order(["calling"], customer_country=country)
    webex_setup.mark_subscription_reviewed(order)
    sign_in_installer(client, order)
    form = client.get(step_url(order, "calling")).context["form"]
    assert form["time_zone"].value() == zone


def test_the_calling_step_offers_every_country_whose_numbers_can_be_checked():
    import phonenumbers

    offered = {code for code, _name in countries.calling_country_choices()}
    # Every ISO country with a numbering plan, and Kosovo; not Ascension and Tristan da Cunha,
    # which ISO counts in Saint Helena.
    assert offered == set(phonenumbers.SUPPORTED_REGIONS) - {"AC", "TA"}


def test_the_time_zone_list_is_iana_s():
    zones = countries.time_zones()
    assert {"Europe/Paris", "America/Argentina/Buenos_Aires", "Pacific/Auckland", "UTC"} <= zones
    assert "US/Eastern" not in zones and "posixrules" not in zones


def test_meeting_settings_are_saved_and_prefilled_from_calling(client):
    order = set_up_order(["calling", "meetings"])
    webex_setup.mark_subscription_reviewed(order)
    webex_setup.save_calling_settings(order, country="CA", time_zone="America/Toronto",
                                   location_name="Montréal", main_number="+15145550100")
    sign_in_installer(client, order)
    form = client.get(step_url(order, "meetings")).context["form"]
    assert form["time_zone"].value() == "America/Toronto"
    assert form["language"].value() == "en"
    response = client.post(step_url(order, "meetings"), {
        "language": "fr", "time_zone": "America/Toronto", "recording_allowed": "on",
        "join_before_host": "on"})
    assert response.status_code == 302 and response.url == step_url(order, "enterprise")
    saved = MeetingSettings.objects.get(order=order)
    assert (saved.language, saved.time_zone, saved.recording_allowed, saved.guests_allowed,
            saved.join_before_host) == ("fr", "America/Toronto", True, False, True)


# --- Enterprise settings -------------------------------------------------------------------------

def enterprise_order(client, **kwargs):
    order = set_up_order(["messaging"], **kwargs)
    webex_setup.mark_subscription_reviewed(order)
    sign_in_installer(client, order)
    return order


def test_check_availability_answers_on_the_same_page_and_keeps_what_was_typed(client):
    order = enterprise_order(client)
    response = client.post(step_url(order, "enterprise"), {"subdomain": "Boulangerie-Martin",
                                                           "check": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "boulangerie-martin.webex.com is available" in html
    assert 'value="boulangerie-martin"' in html
    assert reload(order.customer_org).subdomain is None  # checking reserves nothing


def test_check_availability_of_a_taken_name_offers_three_clickable_suggestions(client):
    from tests.factories import CustomerOrgFactory

    CustomerOrgFactory(subdomain="boulangerie")
    order = enterprise_order(client)
    html = client.post(step_url(order, "enterprise"),
                       {"subdomain": "BOULANGERIE", "check": "1"}).content.decode()
    assert "This subdomain is already taken." in html
    picks = re.findall(r'<button type="submit" name="pick" value="([^"]+)"', html)
    assert len(picks) == 3 and "boulangerie" not in picks
    # Clicking one (no JavaScript: a submit button) fills it in and confirms it is free.
    html = client.post(step_url(order, "enterprise"),
                       {"subdomain": "BOULANGERIE", "pick": picks[0]}).content.decode()
    assert f"{picks[0]}.webex.com is available" in html
    assert f'value="{picks[0]}"' in html


def test_a_reserved_word_is_answered_with_names_from_the_customers_name(client):
    order = enterprise_order(client, customer_name="Boulangerie Martin", customer_city="Lyon")
    html = client.post(step_url(order, "enterprise"), {"subdomain": "www", "check": "1"}).content.decode()
    assert "This name is reserved. Choose another one." in html
    picks = re.findall(r'<button type="submit" name="pick" value="([^"]+)"', html)
    assert picks == ["boulangerie-martin", "boulangerie-martin-lyon", "boulangerie-martin-fr"]


@pytest.mark.parametrize("typed, message", [
    ("ab", "Use at least 3 characters."),
    ("x" * 31, "Use at most 30 characters."),
    ("-acme", "A subdomain cannot start or end with a hyphen."),
    ("acme_shop", "Use only lowercase letters a–z, digits and hyphens."),
    ("crêperie", "Use only unaccented letters a–z, digits and hyphens."),
    ("www", "This name is reserved. Choose another one."),
])
def test_a_subdomain_breaking_a_rule_is_explained(client, typed, message):
    order = enterprise_order(client)
    for button in ("check", "save"):
        response = client.post(step_url(order, "enterprise"), {"subdomain": typed, button: "1"})
        assert response.status_code == 200
        assert message in response.content.decode()
    assert reload(order.customer_org).subdomain is None


def test_save_reserves_the_subdomain_and_goes_to_deploy(client):
    order = enterprise_order(client)
    response = client.post(step_url(order, "enterprise"), {"subdomain": "Boulangerie-Martin",
                                                           "save": "1"})
    assert response.status_code == 302 and response.url == step_url(order, "deploy")
    assert reload(order.customer_org).subdomain == "boulangerie-martin"
    event = Event.objects.get(order=order, kind=Event.Kind.SUBDOMAIN_RESERVED)
    assert event.data["subdomain"] == "boulangerie-martin"


def test_a_name_taken_between_check_and_save_gets_a_clear_message(client, monkeypatch):
    """Another organisation saved the name after this form checked it: the database constraint
    refuses it and the installer is told, with suggestions, on the same page."""
    from orgs import subdomains as rules
    from tests.factories import CustomerOrgFactory

    order = enterprise_order(client)
    CustomerOrgFactory(subdomain="boulangerie")
    monkeypatch.setattr(rules, "is_available", lambda value, exclude_org=None: True)
    response = client.post(step_url(order, "enterprise"), {"subdomain": "boulangerie",
                                                           "save": "1"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "This subdomain was just taken by another organisation. Choose another one." in html
    assert len(re.findall(r'name="pick"', html)) == 3
    assert 'value="boulangerie"' in html  # what was typed is still there
    assert reload(order.customer_org).subdomain is None


def test_an_org_with_a_live_webex_site_keeps_its_subdomain(client):
    first = configure(set_up_order(["messaging"]), subdomain="martin")
    webex_setup.deploy(first)
    second = set_up_order(["messaging"], customer_org=first.customer_org)
    webex_setup.mark_subscription_reviewed(second)
    sign_in_installer(client, second)
    html = client.get(step_url(second, "enterprise")).content.decode()
    assert "already has a live Webex site" in html and "martin.webex.com" in html
    html = client.get(step_url(second, "deploy")).content.decode()
    assert "martin.webex.com" in html
    response = client.post(step_url(second, "enterprise"), {"subdomain": "other", "save": "1"})
    assert "already has a live Webex site" in response.content.decode()
    assert reload(first.customer_org).subdomain == "martin"


# --- Resume ------------------------------------------------------------------------------------

@pytest.mark.parametrize("done, expected", [
    ([], "subscription"),
    (["subscription"], "calling"),
    (["subscription", "calling"], "meetings"),
    (["subscription", "calling", "meetings"], "enterprise"),
    (["subscription", "calling", "meetings", "enterprise"], "deploy"),
])
def test_the_service_setup_resumes_at_the_first_step_not_done(client, done, expected):
    order = configure(set_up_order(["calling", "meetings"]), subdomain="martin", steps=done)
    sign_in_installer(client, order)
    response = client.get(f"/orders/{order.number}/services/", follow=True)
    assert response.redirect_chain[-1][0] == step_url(order, expected)


def test_a_step_after_the_first_not_done_cannot_be_skipped_to(client):
    order = set_up_order(["calling", "meetings"])
    sign_in_installer(client, order)
    response = client.get(step_url(order, "deploy"))
    assert response.status_code == 302 and response.url == step_url(order, "subscription")
    response = client.post(step_url(order, "deploy"))
    assert response.url == step_url(order, "subscription")
    assert order.provisioning.__class__.objects.get(pk=order.pk).deployed_at is None


def test_going_back_shows_the_saved_settings(client):
    order = configure(set_up_order(["calling", "meetings"]), subdomain="martin")
    sign_in_installer(client, order)
    html = client.get(step_url(order, "deploy")).content.decode()
    assert 'href="%s"' % step_url(order, "enterprise") in html  # Back
    form = client.get(step_url(order, "calling")).context["form"]
    assert form["main_number"].value() == "+33478000000"
    assert form["location_name"].value() == "Lyon"
    assert client.get(step_url(order, "meetings")).context["form"]["language"].value() == "fr"
    assert 'value="martin"' in client.get(step_url(order, "enterprise")).content.decode()


def test_the_progress_marks_done_steps_and_the_current_one(client):
    order = set_up_order(["calling", "meetings"])
    webex_setup.mark_subscription_reviewed(order)
    sign_in_installer(client, order)
    html = client.get(step_url(order, "calling")).content.decode()
    assert '<li class="done">' in html
    assert current_step(html) == "Calling settings"
    assert f'<a href="{step_url(order, "subscription")}">Subscription details</a>' in html
    assert f'<a href="{step_url(order, "meetings")}">' not in html  # not reachable yet


# --- Both languages ----------------------------------------------------------------------------

def test_every_step_speaks_french(client):
    order = set_up_order(["calling", "meetings"], language="fr")
    sign_in_installer(client, order)
    client.cookies["django_language"] = "fr"
    html = client.get(step_url(order, "subscription")).content.decode()
    assert step_names(html) == ["Détails d'abonnement", "Paramètres d'appel",
                                "Paramètres de la réunion", "Paramètres de l'entreprise",
                                "Déployer et commencer la facturation"]
    assert "Suivant" in html
    client.post(step_url(order, "subscription"))
    html = client.get(step_url(order, "calling")).content.decode()
    assert "Précédent" in html and "Pays" in html and '<option value="DE">Allemagne</option>' in html
    html = client.post(step_url(order, "calling"), calling_post(main_number="1")).content.decode()
    assert "Saisissez un numéro de téléphone valide pour France" in html
    client.post(step_url(order, "calling"), calling_post())
    client.post(step_url(order, "meetings"), {"language": "fr", "time_zone": "Europe/Paris"})
    html = client.get(step_url(order, "enterprise")).content.decode()
    assert "Vérifier la disponibilité" in html and "Enregistrer" in html
    html = client.post(step_url(order, "enterprise"), {"subdomain": "www", "check": "1"}).content.decode()
    assert "Ce nom est réservé." in html
    client.post(step_url(order, "enterprise"), {"subdomain": "martin", "save": "1"})
    html = client.get(step_url(order, "deploy")).content.decode()
    assert ">Déployer</button>" in html
    html = client.post(step_url(order, "deploy"), follow=True).content.decode()
    assert "Vos services sont déployés" in html


# --- Query budgets -----------------------------------------------------------------------------

# A signed-in member: the session row (1), the user with their membership (1), the order with
# its settings and services (1); the subscription and deploy steps list its lines (1), the
# enterprise step asks whether the org's site is live (1). Never more with more data.
@pytest.mark.parametrize("step, budget", [("subscription", 4), ("calling", 3), ("meetings", 3),
                                          ("enterprise", 4), ("deploy", 4)])
def test_each_step_page_stays_within_its_query_budget(client, django_assert_max_num_queries,
                                                      step, budget):
    order = configure(set_up_order(["calling", "meetings"]), subdomain="martin")
    sign_in_installer(client, order)
    client.get(step_url(order, step))  # warm the session
    with django_assert_max_num_queries(budget):
        assert client.get(step_url(order, step)).status_code == 200


def test_check_availability_stays_within_its_query_budget(client, django_assert_max_num_queries):
    order = enterprise_order(client)
    # session, user with membership, order, site live?, + the availability check, + suggestions
    with django_assert_max_num_queries(6):
        client.post(step_url(order, "enterprise"), {"subdomain": "free-name", "check": "1"})


def test_the_deployed_page_stays_within_its_query_budget(client, django_assert_max_num_queries):
    order = configure(set_up_order(["calling", "meetings"]), subdomain="martin")
    webex_setup.deploy(order)
    sign_in_installer(client, order)
    # session, user with membership, order, lines, billing periods
    with django_assert_max_num_queries(5):
        assert client.get(f"/orders/{order.number}/services/deployed/").status_code == 200


# Saving a step: session, user with membership, the order with its services, then one transaction:
# the provisioning row's lock, the settings' update (the subdomain: the org's lock and update),
# the history row, and the savepoints each atomic block costs inside the test's transaction.
# Deploy: the order again under the lock, the subscription, its activation, one bulk insert of
# billing periods, the status, the history row, the lines for the installer's email and the email.
# The same whatever the number of services.
STEP_POSTS = {
    "calling": {"country": "FR", "time_zone": "Europe/Paris", "location_name": "Lyon",
                "main_number": "04 78 00 00 00"},
    "meetings": {"language": "fr", "time_zone": "Europe/Paris", "recording_allowed": "on"},
    "enterprise": {"subdomain": "martin-lyon", "save": "1"},
    "deploy": {},
}


# A signed-in member: the session, the user with their membership replace the link of old.
@pytest.mark.parametrize("step, budget", [("calling", 9), ("meetings", 9), ("enterprise", 12),
                                          ("deploy", 14)])
def test_saving_each_step_stays_within_its_query_budget(client, django_assert_max_num_queries,
                                                        step, budget):
    order = set_up_order(["calling", "meetings"])
    sign_in_installer(client, order)
    webex_setup.mark_subscription_reviewed(order)
    steps = list(STEP_POSTS)
    for earlier in steps[:steps.index(step)]:
        assert client.post(step_url(order, earlier), STEP_POSTS[earlier]).status_code == 302
    client.get(step_url(order, step))
    with django_assert_max_num_queries(budget):
        response = client.post(step_url(order, step), STEP_POSTS[step])
    following = steps[steps.index(step) + 1] if step != "deploy" else "deployed"
    assert response.status_code == 302 and response["Location"] == step_url(order, following)


def test_deploying_a_customer_led_order_stays_within_its_query_budget(
        client, django_assert_max_num_queries):
    from provisioning.models import OutboundEmail, SetupMode

    order = configure(set_up_order(["calling", "meetings"], mode=SetupMode.CUSTOMER))
    sign_in_installer(client, order)
    client.get(step_url(order, "deploy"))
    with django_assert_max_num_queries(14 + 1):  # + the partner's email
        assert client.post(step_url(order, "deploy")).status_code == 302
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.DEPLOYED).count() == 2


# --- load_order: the one query every page of the assistant begins with ---------------------------

def _fields(instance):
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


@pytest.mark.django_db
@pytest.mark.parametrize("configured", [False, True])
def test_load_order_loads_what_the_orm_loads_and_nothing_more(configured,
                                                               django_assert_num_queries):
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models import OuterRef

    from orders.models import Order, OrderLine

    order = set_up_order(("calling", "meetings", "messaging"), configured=configured)
    expected = (Order.objects.select_related(
        "provisioning", "customer_org", "subscription", "calling_settings", "meeting_settings")
        .annotate(purchased=ArraySubquery(OrderLine.objects.filter(order=OuterRef("pk"))
                                          .values("service"))).get(pk=order.pk))
    with django_assert_num_queries(1):
        loaded = webex_setup.load_order(number=order.number)
        relations = {}
        for name in ("provisioning", "customer_org", "subscription", "calling_settings",
                     "meeting_settings"):
            try:
                relations[name] = _fields(getattr(loaded, name))
            except ObjectDoesNotExist:  # absent, known without asking again
                relations[name] = None
    assert _fields(loaded) == _fields(expected)
    assert sorted(loaded.purchased) == sorted(expected.purchased) == ["calling", "meetings",
                                                                      "messaging"]
    for name, fields in relations.items():
        try:
            assert fields == _fields(getattr(expected, name)), name
        except ObjectDoesNotExist:
            assert fields is None, name
    assert (relations["calling_settings"] is not None) == configured
    with pytest.raises(Order.DoesNotExist):
        webex_setup.load_order(pk=order.pk + 1000)


@pytest.mark.django_db
def test_step_links_follow_the_sites_path_prefix():
    """Step URLs are kept once reversed; a site served under a path keeps its own."""
    from django.urls import get_script_prefix, set_script_prefix

    from onboarding.webex_setup_views import step_url

    order = set_up_order(["calling"])
    before = get_script_prefix()
    try:
        for prefix in ("/", "/onboarding/", "/"):
            set_script_prefix(prefix)
            assert step_url(order, "calling") == f"{prefix}orders/{order.number}/services/calling/"
            assert step_url(order, None) == f"{prefix}orders/{order.number}/services/deployed/"
    finally:
        set_script_prefix(before)


OLD_STEPS_LOOP = (
    '{% load i18n %}{% for s in steps %}\n'
    '        <li class="{% if s.current %}current{% elif s.done %}done{% endif %}"'
    '{% if s.current %} aria-current="step"{% endif %}>\n'
    '          {% if s.reachable and not s.current %}<a href="{{ s.url }}">{{ s.label }}</a>'
    '{% else %}{{ s.label }}{% endif %}\n'
    '          {% if s.done %}<span class="visually-hidden">({% translate "done" %})</span>'
    '{% endif %}\n'
    '        </li>\n'
    '      {% endfor %}')


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_assistants_steps_are_the_list_the_template_loop_wrote(language):
    from django.template import Context, Template
    from django.utils import translation

    from onboarding.webex_setup_views import STEP_LABELS

    keys = list(STEP_LABELS)
    new = Template("{% load step_lists %}{% service_steps steps %}")
    with translation.override(language):
        for current in range(len(keys)):
            steps = [{"key": key, "label": STEP_LABELS[key], "url": f"/o/A&B/{key}/",
                      "done": i < current or i == len(keys) - 1, "current": i == current,
                      "reachable": i <= current + 1} for i, key in enumerate(keys)]
            assert new.render(Context({"steps": steps})) == \
                Template(OLD_STEPS_LOOP).render(Context({"steps": steps}))
