"""The setup wizard (spec steps 4-10), through the Django test client: every branch."""
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from orgs.models import Invitation, Membership, Organization
from provisioning.models import (CallingSettings, Event, MeetingSettings, OutboundEmail,
                                 Provisioning, SetupLink, SetupMode, Status)
from provisioning.links import issue_link
from tests.factories import (COLLEAGUE_EMAIL, CustomerOrgFactory, MembershipFactory, OrderFactory,
                             PartnerOrgFactory, RepFactory)
from tests.wizard_helpers import (ADMIN_PASSWORD, answer, existing_customer, existing_partner, CUSTOMER_ADMIN_EMAIL, DEFAULT_ANSWERS,
                                  INSTALLER_EMAIL, current_step, done_url, open_link, post_step,
                                  set_password, setup_url, token_in, walk)

pytestmark = pytest.mark.django_db
User = get_user_model()


def steps_seen(client, order, answers=None):
    """The wizard's steps in the order it shows them for these answers (through Confirm)."""
    answers = {**DEFAULT_ANSWERS, **(answers or {})}
    seen = []
    response = client.get(setup_url(order))
    while (step := current_step(response)) is not None:
        seen.append(step)
        response = answer(client, order, step, answers.get(step, {}))
        assert current_step(response) != step, f"step {step} refused its answers"
    return seen, response


def rows():
    """What a wizard may leave behind: it must stay empty until Confirm."""
    return {"orgs": Organization.objects.count(), "memberships": Membership.objects.count(),
            "users": User.objects.filter(is_staff=False).count(),
            "settings": CallingSettings.objects.count() + MeetingSettings.objects.count()}


@pytest.fixture
def order():
    return OrderFactory()


# --- I am a partner, Yes, I will do the setup ---------------------------------------------------

def test_a_partners_first_order_creates_both_organisations_at_confirm(client, order):
    open_link(client, order)
    seen, response = steps_seen(client, order)

    assert seen == ["role", "installer", "partner_org", "customer_admin", "customer_org", "confirm"]
    assert response.status_code == 302 and response["Location"] == done_url(order)
    partner = Organization.objects.get(kind="partner")
    customer = Organization.objects.get(kind="customer")
    assert (partner.external_id, partner.name, partner.country) == ("PTN-4411", "Réseaux Alpins SARL", "FR")
    assert (customer.external_id, customer.city, customer.managed_by) == (
        order.customer_external_id, "Lyon", partner)
    installer = User.objects.get(email=INSTALLER_EMAIL)
    assert installer.full_name == "Inès Installer"
    assert (installer.membership.organization, installer.membership.role) == (partner, "admin")
    # The customer administrator the partner named is invited: no account until they accept.
    assert not User.objects.filter(email=CUSTOMER_ADMIN_EMAIL).exists()
    invitation = Invitation.objects.get(email=CUSTOMER_ADMIN_EMAIL)
    assert (invitation.organization, invitation.role, invitation.accepted_at) == (customer, "admin", None)
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.INVITATION,
                                        to=CUSTOMER_ADMIN_EMAIL).count() == 1
    # The installer typed their own address, not the deployment contact's: a code proved it.
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.VERIFICATION,
                                        to=INSTALLER_EMAIL).count() == 1
    order.refresh_from_db()
    assert (order.partner_org, order.customer_org) == (partner, customer)
    provisioning = order.provisioning
    provisioning.refresh_from_db()
    assert provisioning.status == Status.SET_UP and provisioning.set_up_at is not None
    assert (provisioning.setup_mode, provisioning.installer_email) == (SetupMode.SELF, INSTALLER_EMAIL)
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds.count(Event.Kind.SET_UP) == 1 and kinds.count(Event.Kind.SETUP_BEGUN) == 1

    done = client.get(done_url(order))
    assert "Your order has been set up successfully" in done.content.decode()


def test_the_installer_step_is_prefilled_with_the_deployment_contact(client, order):
    open_link(client, order)
    post_step(client, order, "role", {"role": "partner"})
    response = client.get(setup_url(order))
    assert response.context["wizard"]["form"]["email"].value() == order.deployment_contact_email


def test_every_step_shows_where_the_user_is_with_back_and_next(client, order):
    open_link(client, order)
    response = post_step(client, order, "role", {"role": "partner"})
    html = response.content.decode()
    progress = re.search(r'<ol class="progress">(.*?)</ol>', html, re.S).group(1)
    names = re.findall(r'<span class="label">([^<]+)</span>', progress)
    assert names == ["Role", "Installer", "Partner organisation", "Customer administrator",
                     "Customer organisation", "Confirm"]
    assert re.search(r'aria-current="step"><span class="num" aria-hidden="true">2</span>'
                     r'<span class="label">Installer', progress)
    assert 'name="wizard_goto_step" value="role"' in html and ">Back</button>" in html
    assert ">Next</button>" in html
    for label in ("Yes, I will do the setup", "Someone else in my company will do the setup",
                  "The customer will do the setup"):
        assert label in html
    assert "js/wizard.js" in html and "<script>" not in html


def test_errors_show_next_to_their_field(client, order):
    open_link(client, order)
    post_step(client, order, "role", {"role": "partner"})
    response = post_step(client, order, "installer", {"choice": "self", "name": "", "email": "nope"})
    assert current_step(response) == "installer"
    html = response.content.decode()
    assert re.search(r'id="id_installer-name_error">Enter your name.</p>', html)
    assert 'id="id_installer-email_error">Enter a valid email address.</p>' in html
    assert 'aria-invalid="true"' in html


def test_back_keeps_the_answers(client, order):
    open_link(client, order)
    walk(client, order, until="partner_org")
    back = post_step(client, order, "partner_org", {"name": "Changed SARL", "country": "FR"},
                     wizard_goto_step="installer")
    assert back.status_code == 302 and back["Location"] == setup_url(order)
    response = client.get(setup_url(order))
    assert current_step(response) == "installer"
    assert response.context["wizard"]["form"]["name"].value() == "Inès Installer"
    response = post_step(client, order, "installer", DEFAULT_ANSWERS["installer"])
    assert response.context["wizard"]["form"]["name"].value() == "Changed SARL"


def test_back_keeps_what_was_typed_on_an_unfinished_page(client, order):
    open_link(client, order)
    walk(client, order, until="customer_org")
    half_done = {"name": "Boulangerie Martin et Fils", "country": "", "city": "Villeurbanne"}
    back = post_step(client, order, "customer_org", half_done, wizard_goto_step="customer_admin")
    assert back.status_code == 302  # Back is not held up by the errors
    assert current_step(client.get(setup_url(order))) == "customer_admin"

    response = post_step(client, order, "customer_admin", DEFAULT_ANSWERS["customer_admin"])
    form = response.context["wizard"]["form"]
    assert current_step(response) == "customer_org"
    assert (form["name"].value(), form["city"].value()) == ("Boulangerie Martin et Fils",
                                                            "Villeurbanne")
    assert rows()["orgs"] == 0


def test_a_reload_shows_the_same_step_with_its_answers(client, order):
    open_link(client, order)
    walk(client, order, until="customer_admin")
    assert current_step(client.get(setup_url(order))) == "customer_admin"


def test_an_existing_partner_org_is_verified_by_a_signed_in_member(client, order):
    partner, installer = existing_partner(client, name="Réseaux Alpins (existing)")
    open_link(client, order)
    response = walk(client, order, until="partner_org")
    html = response.content.decode()
    assert "Verify your partner organisation" in html and "Réseaux Alpins (existing)" in html
    assert "I don't recognise this organisation" in html
    assert 'name="partner_org-name"' not in html

    response = walk(client, order, {"installer": {**DEFAULT_ANSWERS["installer"],
                                                  "email": "someone.else@partner.example"}})
    assert response["Location"] == done_url(order)
    assert Organization.objects.filter(kind="partner").count() == 1
    assert Membership.objects.filter(organization=partner).count() == 1
    # The signed-in member installs, whatever address was typed (the field is theirs).
    assert Provisioning.objects.get(pk=order.pk).installer_email == installer.email
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.VERIFICATION).exists()
    assert Organization.objects.get(kind="customer").managed_by == partner
    # Step 10 is for a new partner org only.
    assert "new_password1" not in client.get(done_url(order)).content.decode()


def test_an_installer_of_another_organisation_is_refused(client, order):
    MembershipFactory(user__email=INSTALLER_EMAIL, organization=PartnerOrgFactory())
    open_link(client, order)
    post_step(client, order, "role", {"role": "partner"})
    response = answer(client, order, "installer", DEFAULT_ANSWERS["installer"])
    assert current_step(response) == "installer"
    assert "already belongs to another Webex organisation" in response.content.decode()


# --- Customer administrator and customer organisation -------------------------------------------

@pytest.mark.parametrize("elsewhere", ["partner org", "customer org of another partner",
                                       "customer org other than the order's",
                                       "unmanaged org of another customer",
                                       "unmanaged org of the same name in another country"])
def test_it_refuses_an_email_that_belongs_to_another_org(client, order, elsewhere):
    if elsewhere == "partner org":
        org = PartnerOrgFactory()
    elif elsewhere == "customer org of another partner":
        org = CustomerOrgFactory(managed_by=PartnerOrgFactory())
    elif elsewhere == "customer org other than the order's":
        partner, _installer = existing_partner(client)
        existing_customer(order, partner, admin_email=None)
        org = CustomerOrgFactory(managed_by=partner)
    elif elsewhere == "unmanaged org of another customer":
        # Nothing has the order's customer id; typing a user's email must not open their org.
        org = CustomerOrgFactory(name="Pharmacie Dupont", city="Grenoble", managed_by=None)
    else:
        org = CustomerOrgFactory(name=order.customer_name, country="BE", city="Bruxelles",
                                 managed_by=None)
    MembershipFactory(user__email="taken@elsewhere.example", organization=org)
    before = rows()
    open_link(client, order)
    walk(client, order, until="customer_admin")
    response = post_step(client, order, "customer_admin", {"email": "Taken@Elsewhere.example"})
    assert current_step(response) == "customer_admin"
    html = response.content.decode()
    assert "already belongs to another Webex organisation" in html
    assert "ask that organisation&#x27;s administrator to remove this user" in html
    # Never shows another organisation's details (the order's own customer name is on every page).
    assert org.name not in html or org.name == order.customer_name
    assert org.external_id not in html and (not org.city or org.city not in html)
    assert rows() == before


def test_it_refuses_the_installer_as_customer_administrator(client, order):
    open_link(client, order)
    walk(client, order, until="customer_admin")
    response = post_step(client, order, "customer_admin", {"email": INSTALLER_EMAIL})
    assert current_step(response) == "customer_admin"
    assert "must be someone other than the installer" in response.content.decode()


def test_an_existing_customer_org_is_verified_not_recreated(client, order):
    partner, _installer = existing_partner(client)
    customer = existing_customer(order, partner, name="Martin & Fils")
    open_link(client, order)
    response = walk(client, order, until="customer_org")
    html = response.content.decode()
    assert "Verify the customer organisation" in html and "Martin &amp; Fils" in html
    walk(client, order)
    order.refresh_from_db()
    assert order.customer_org == customer
    assert Organization.objects.filter(kind="customer").count() == 1
    assert User.objects.get(email=CUSTOMER_ADMIN_EMAIL).membership.organization == customer


def test_the_admin_email_of_an_existing_customer_org_selects_that_org(client, order):
    # Known under another customer id, but the same customer (same name and country), and
    # managed by this partner.
    partner, _installer = existing_partner(client)
    customer = existing_customer(order, partner, external_id="CUS-OLD-1",
                                 name="BOULANGERIE  Martin", country="FR", city="Villeurbanne")
    open_link(client, order)
    response = walk(client, order, until="customer_org")
    assert "CUS-OLD-1" in response.content.decode() and "Villeurbanne" in response.content.decode()
    walk(client, order)
    order.refresh_from_db()
    assert order.customer_org == customer
    assert Organization.objects.filter(kind="customer").count() == 1


def test_the_admin_email_of_the_customer_org_found_by_its_id_is_accepted(client, order):
    partner, _installer = existing_partner(client)
    customer = existing_customer(order, partner, name="Martin & Fils")
    open_link(client, order)
    response = walk(client, order, until="customer_org")
    assert "Verify the customer organisation" in response.content.decode()
    assert walk(client, order)["Location"] == done_url(order)

    order.refresh_from_db()
    assert order.customer_org == customer
    assert Organization.objects.filter(kind="customer").count() == 1
    admin = User.objects.get(email=CUSTOMER_ADMIN_EMAIL)
    assert (admin.membership.organization, admin.membership.role) == (customer, "admin")
    assert Membership.objects.filter(organization=customer).count() == 1
    assert admin.check_password("correct-horse-battery")  # their account is left as it was


def test_the_confirm_page_shows_both_sides(client, order):
    open_link(client, order)
    html = walk(client, order, until="confirm").content.decode()
    assert 'id="side-partner"' in html and 'id="side-customer"' in html
    for text in ("Réseaux Alpins SARL", "PTN-4411", "Inès Installer", "Boulangerie Martin",
                 "Lyon", "Your partner organisation will manage"):
        assert text in html
    # Countries by name, as on the calling step; emails may wrap before their @ and dots only.
    assert html.count("<dd>France</dd>") == 2 and "<dd>FR</dd>" not in html
    assert "<dd>camille<wbr>.admin<wbr>@customer<wbr>.example</dd>" in html
    assert "&lt;ines<wbr>.installer<wbr>@partner<wbr>.example&gt;" in html
    assert rows() == {"orgs": 0, "memberships": 0, "users": 0, "settings": 0}


def test_the_confirm_page_names_the_countries_in_the_page_s_language(client, order):
    partner, _installer = existing_partner(client)
    existing_customer(order, partner, country="DE")
    order.language = "fr"
    order.save()
    open_link(client, order)
    html = walk(client, order, until="confirm").content.decode()
    assert "<dd>France</dd>" in html and "<dd>Allemagne</dd>" in html


@pytest.mark.parametrize("language, germany, france", [("en", "Germany", "France"),
                                                      ("fr", "Allemagne", "France")])
def test_the_org_steps_offer_a_select_of_countries_by_name_in_the_page_s_language(
        client, order, language, germany, france):
    order.language = language
    order.save()
    open_link(client, order)
    for step in ("partner_org", "customer_org"):
        html = walk(client, order, until=step).content.decode()
        assert re.search(r'<select name="[\w-]*country"', html)
        assert f'<option value="DE">{germany}</option>' in html
        assert f'<option value="FR" selected>{france}</option>' in html  # the order's country


def test_the_org_steps_refuse_a_country_code_that_is_no_country(client, order):
    open_link(client, order)
    for step in ("partner_org", "customer_org"):
        walk(client, order, until=step)
        for code in ("ZZ", "fr", "FRA", ""):
            refused = post_step(client, order, step, {**DEFAULT_ANSWERS[step], "country": code})
            assert current_step(refused) == step, code
            assert "country" in refused.context["wizard"]["form"].errors, code
    assert current_step(answer(client, order, "customer_org", DEFAULT_ANSWERS["customer_org"])) == "confirm"
    assert rows()["orgs"] == 0


# --- "I don't recognise this organisation" -------------------------------------------------------

@pytest.mark.parametrize("which", ["partner_org", "customer_org"])
def test_not_recognising_an_organisation_tells_the_rep_and_saves_nothing(client, order, which):
    partner = PartnerOrgFactory(external_id="PTN-4411")
    existing_customer(order, partner)
    if which == "customer_org":  # reached by a member; a non-member may say so at partner_org
        existing_partner(client)
    before = rows()
    open_link(client, order)
    walk(client, order, until=which)
    response = post_step(client, order, which, not_recognised="1")

    html = response.content.decode()
    assert response.status_code == 200 and "Contact your account representative" in html
    assert order.account_rep.email in html
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.REP_NOT_RECOGNISED)
    assert email.to == order.account_rep.email and order.number in email.subject
    assert order.events.filter(kind=Event.Kind.NOT_RECOGNISED).count() == 1
    assert rows() == before
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.set_up_at is None and provisioning.status != Status.SET_UP
    # The wizard ended: the link starts it again from the first step.
    assert current_step(client.get(setup_url(order))) == "role"


def test_a_french_rep_is_told_in_french_that_an_organisation_is_not_recognised(client):
    order = OrderFactory(account_rep=RepFactory(language="fr"))
    PartnerOrgFactory(external_id="PTN-4411")
    open_link(client, order)
    walk(client, order, until="partner_org")
    post_step(client, order, "partner_org", not_recognised="1")
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.REP_NOT_RECOGNISED)
    assert email.subject == f"Commande {order.number} : le partenaire ne reconnaît pas une organisation"


def test_pressing_not_recognised_again_does_not_flood_the_rep(client, order):
    PartnerOrgFactory(external_id="PTN-4411")
    open_link(client, order)
    for _ in range(3):
        walk(client, order, until="partner_org")
        post_step(client, order, "partner_org", not_recognised="1")
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.REP_NOT_RECOGNISED).count() == 1
    assert order.events.filter(kind=Event.Kind.NOT_RECOGNISED).count() == 3


# --- Someone else in my company will do the setup -----------------------------------------------

def test_handing_the_setup_to_a_colleague_sends_them_their_own_link(client, order):
    order.language = "fr"
    order.save()
    first = open_link(client, order)
    seen, response = steps_seen(client, order, {
        "installer": {"choice": "colleague", "colleague_email": COLLEAGUE_EMAIL}})

    assert seen == ["role", "installer"]
    html = response.content.decode()
    assert response.status_code == 200 and COLLEAGUE_EMAIL in html
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.COLLEAGUE)
    assert email.to == COLLEAGUE_EMAIL
    assert "On vous a demandé d'installer la commande Webex" in email.subject  # order's language
    assert "Configurer maintenant" in email.body_text and email.body_html
    assert order.events.filter(kind=Event.Kind.COLLEAGUE_INVITED,
                               data__colleague=COLLEAGUE_EMAIL).exists()
    assert rows() == {"orgs": 0, "memberships": 0, "users": 0, "settings": 0}
    # The link used stops working; the colleague's opens the wizard with their address.
    assert client.get(f"/setup/{first}/").status_code == 410
    colleague = client.__class__()
    open_link(colleague, order, raw=token_in(email))
    post_step(colleague, order, "role", {"role": "partner"})
    assert colleague.get(setup_url(order)).context["wizard"]["form"]["email"].value() == COLLEAGUE_EMAIL
    walk(colleague, order, {"installer": {**DEFAULT_ANSWERS["installer"], "email": COLLEAGUE_EMAIL}})
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert (provisioning.setup_mode, provisioning.installer_email) == (SetupMode.COLLEAGUE,
                                                                       COLLEAGUE_EMAIL)


def test_the_colleague_email_is_required(client, order):
    open_link(client, order)
    post_step(client, order, "role", {"role": "partner"})
    response = post_step(client, order, "installer", {"choice": "colleague"})
    assert current_step(response) == "installer"
    assert "Enter your colleague&#x27;s email." in response.content.decode()
    assert not OutboundEmail.objects.exists()


# --- The customer will do the setup / I am the customer -----------------------------------------

def test_handing_the_setup_to_the_customer_then_the_customer_finishes_it(client, order):
    open_link(client, order)
    seen, response = steps_seen(client, order, {
        "installer": {**DEFAULT_ANSWERS["installer"], "choice": "customer"}})

    assert seen == ["role", "installer", "partner_org", "customer_admin", "confirm"]
    assert response["Location"] == done_url(order)
    partner = Organization.objects.get(kind="partner")
    order.refresh_from_db()
    assert order.partner_org == partner and order.customer_org is None
    provisioning = order.provisioning
    assert provisioning.setup_mode == SetupMode.CUSTOMER and provisioning.set_up_at is None
    done = client.get(done_url(order)).content.decode()
    assert "Your order has been set up successfully" in done and CUSTOMER_ADMIN_EMAIL in done
    assert "new_password1" in done  # the new partner org's administrator
    assert set_password(client, order).status_code == 302
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.CUSTOMER_ADMIN)
    assert email.to == CUSTOMER_ADMIN_EMAIL
    assert order.events.filter(kind=Event.Kind.CUSTOMER_INVITED).count() == 1

    customer = client.__class__()
    open_link(customer, order, raw=token_in(email))
    seen, response = steps_seen(customer, order)
    assert seen == ["customer_org", "confirm"]
    assert response["Location"] == done_url(order)
    customer_org = Organization.objects.get(kind="customer")
    assert customer_org.managed_by is None  # the partner will not manage it
    admin = User.objects.get(email=CUSTOMER_ADMIN_EMAIL)
    assert admin.membership.organization == customer_org
    provisioning.refresh_from_db()
    assert provisioning.status == Status.SET_UP and provisioning.setup_mode == SetupMode.CUSTOMER
    assert "new_password1" in customer.get(done_url(order)).content.decode()


HAND_OVER = {"installer": {**DEFAULT_ANSWERS["installer"], "choice": "customer"}}


@pytest.mark.parametrize("language, success, who", [
    ("en", "Your order has been set up successfully", "The customer will do the setup"),
    ("fr", "Votre commande a été installée avec succès", "Le client effectuera l'installation"),
])
def test_after_the_hand_over_the_partner_reads_the_success_and_who_finishes(
        client, order, language, success, who):
    order.language = language
    order.save()
    open_link(client, order)
    walk(client, order, HAND_OVER)
    done = client.get(done_url(order)).content.decode()
    assert re.search(r"<h1[^>]*>(.*?)</h1>", done).group(1) == success
    assert f"<title>{success} · Webex</title>" in done
    assert f"<h2>{who}</h2>" in done and CUSTOMER_ADMIN_EMAIL in done
    assert "handed to the customer" not in done and "confiée au client" not in done


def test_a_double_click_on_the_hand_over_confirm_still_offers_the_password(client, order):
    open_link(client, order)
    walk(client, order, HAND_OVER, until="confirm")
    assert post_step(client, order, "confirm")["Location"] == done_url(order)

    again = post_step(client, order, "confirm")   # the second click of a double click
    assert again.status_code == 302 and again["Location"] == done_url(order)
    done = client.get(done_url(order)).content.decode()
    assert "The customer will do the setup" in done and "new_password1" in done
    assert set_password(client, order).status_code == 302
    assert User.objects.get(email=INSTALLER_EMAIL).has_usable_password()
    assert order.events.filter(kind=Event.Kind.CUSTOMER_INVITED).count() == 1


def test_another_tab_after_the_hand_over_shows_the_done_page_not_superseded(client, order):
    raw = open_link(client, order)
    walk(client, order, HAND_OVER)

    other_tab = client.get(setup_url(order))
    assert other_tab.status_code == 302 and other_tab["Location"] == done_url(order)
    assert "new_password1" in client.get(done_url(order)).content.decode()
    set_password(client, order)
    assert client.get(setup_url(order))["Location"] == done_url(order)
    assert "new_password1" not in client.get(done_url(order)).content.decode()
    # The emailed link itself stops working; the page says how to recover the password.
    later = client.__class__().get(f"/setup/{raw}/")
    assert later.status_code == 410 and 'href="/accounts/password_reset/"' in later.content.decode()


def test_after_a_hand_over_the_partner_installer_and_the_customer_admin_are_told_of_the_deploy(
        client, order):
    from provisioning import webex_setup
    from tests.service_helpers import configure

    open_link(client, order)
    walk(client, order, HAND_OVER)
    customer = client.__class__()
    open_link(customer, order, raw=token_in(OutboundEmail.objects.get(
        kind=OutboundEmail.Kind.CUSTOMER_ADMIN)))
    walk(customer, order)
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert (provisioning.installer_name, provisioning.installer_email) == ("Inès Installer",
                                                                           INSTALLER_EMAIL)

    webex_setup.deploy(configure(webex_setup.load_order(pk=order.pk)), installer_email=CUSTOMER_ADMIN_EMAIL)
    sent = {e.to: e for e in OutboundEmail.objects.filter(kind=OutboundEmail.Kind.DEPLOYED)}
    assert set(sent) == {INSTALLER_EMAIL, CUSTOMER_ADMIN_EMAIL}
    assert "As the customer did the setup" in sent[INSTALLER_EMAIL].body_text
    assert "/my/orders/" not in sent[INSTALLER_EMAIL].body_text  # no access to the customer org
    assert "/my/orders/" in sent[CUSTOMER_ADMIN_EMAIL].body_text


def customer_admin_browser(client, order):
    """After the partner's hand-over: the customer administrator's browser on their own link."""
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.CUSTOMER_ADMIN)
    customer = client.__class__()
    open_link(customer, order, raw=token_in(email))
    return customer


def test_the_customer_admin_who_does_not_recognise_their_organisation_tells_the_rep(client,
                                                                                   order):
    customer_org = existing_customer(order, None, name="Martin SA")
    open_link(client, order)
    walk(client, order, HAND_OVER)
    before = rows()
    customer = customer_admin_browser(client, order)
    response = walk(customer, order, until="customer_org")
    assert "Verify the customer organisation" in response.content.decode()

    response = post_step(customer, order, "customer_org", not_recognised="1")
    assert "Contact your account representative" in response.content.decode()
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.REP_NOT_RECOGNISED)
    assert email.to == order.account_rep.email
    assert "does not recognise the customer organisation Martin SA" in email.body_text
    assert CUSTOMER_ADMIN_EMAIL in email.body_text           # who reported it
    assert order.events.filter(kind=Event.Kind.NOT_RECOGNISED, data__org_id=customer_org.pk,
                               data__reported_by=CUSTOMER_ADMIN_EMAIL).count() == 1
    assert rows() == before
    assert Provisioning.objects.get(pk=order.pk).set_up_at is None
    assert current_step(customer.get(setup_url(order))) == "customer_org"   # their link starts again


@pytest.mark.parametrize("leave_at", ["customer_org", "confirm"])
def test_a_customer_admin_leaving_half_way_leaves_nothing_and_can_start_again(client, order,
                                                                              leave_at):
    open_link(client, order)
    walk(client, order, HAND_OVER)
    before = rows()
    customer = customer_admin_browser(client, order)
    walk(customer, order, until=leave_at)

    assert rows() == before and not Organization.objects.filter(kind="customer").exists()
    assert not User.objects.filter(email=CUSTOMER_ADMIN_EMAIL).exists()
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.set_up_at is None and provisioning.status != Status.SET_UP
    later = customer_admin_browser(client, order)          # the same email, another day
    assert current_step(later.get(setup_url(order))) == "customer_org"
    assert walk(later, order)["Location"] == done_url(order)
    assert Organization.objects.filter(kind="customer").count() == 1


def test_the_customer_admin_invitation_is_in_the_order_s_french(client, order):
    order.language = "fr"
    order.save()
    open_link(client, order)
    walk(client, order, HAND_OVER)
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.CUSTOMER_ADMIN)
    assert email.to == CUSTOMER_ADMIN_EMAIL
    assert email.subject == ("Installez vos services Webex : Réseaux Alpins SARL vous a confié "
                             "l'installation")
    assert "vous a désigné comme administrateur de votre organisation Webex" in email.body_text
    assert "Configurer maintenant" in email.body_text and "Configurer maintenant" in email.body_html
    assert "n'aura pas accès à la gestion de votre organisation" in email.body_text
    assert "Set up now" not in email.body_text


def test_i_am_the_customer_sets_up_an_unmanaged_customer_org(client, order):
    partner = PartnerOrgFactory(external_id="PTN-4411")
    open_link(client, order)
    seen, response = steps_seen(client, order, {"role": {"role": "customer"}})

    assert seen == ["role", "customer_admin", "customer_org", "confirm"]
    customer = Organization.objects.get(kind="customer")
    assert customer.managed_by is None
    order.refresh_from_db()
    assert (order.partner_org, order.customer_org) == (partner, customer)
    assert not Membership.objects.filter(organization=partner).exists()
    provisioning = order.provisioning
    assert (provisioning.setup_mode, provisioning.installer_email) == (SetupMode.CUSTOMER,
                                                                       CUSTOMER_ADMIN_EMAIL)


def test_i_am_the_customer_on_a_partners_first_order_creates_no_partner_org(client, order):
    open_link(client, order)
    walk(client, order, {"role": {"role": "customer"}})
    assert not Organization.objects.filter(kind="partner").exists()
    order.refresh_from_db()
    assert order.partner_org is None and order.customer_org is not None


# --- Leaving, restarting ------------------------------------------------------------------------

@pytest.mark.parametrize("leave_at", ["role", "installer", "partner_org", "customer_admin",
                                      "customer_org", "confirm"])
def test_leaving_at_any_step_leaves_nothing_behind(client, order, leave_at):
    open_link(client, order)
    walk(client, order, until=leave_at)
    assert rows() == {"orgs": 0, "memberships": 0, "users": 0, "settings": 0}
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.set_up_at is None and order.partner_org_id is None
    assert (provisioning.setup_begun_at is not None) == (leave_at != "role")
    assert set(order.events.values_list("kind", flat=True)) <= {
        Event.Kind.IMPORTED, Event.Kind.LINK_ISSUED, Event.Kind.SETUP_BEGUN}


def test_setup_begun_is_recorded_once_on_the_first_post(client, order):
    open_link(client, order)
    client.get(setup_url(order))
    assert Provisioning.objects.get(pk=order.pk).setup_begun_at is None
    walk(client, order, until="confirm")
    assert order.events.filter(kind=Event.Kind.SETUP_BEGUN).count() == 1


def test_opening_the_link_again_starts_from_the_first_step(client, order):
    raw = open_link(client, order)
    walk(client, order, until="customer_org")
    open_link(client, order, raw=raw)
    response = client.get(setup_url(order))
    assert current_step(response) == "role"
    assert response.context["wizard"]["form"]["role"].value() is None
    assert walk(client, order)["Location"] == done_url(order)


def test_two_orders_set_up_side_by_side_in_one_browser(client, order):
    """A partner opens two of its orders' emails in two tabs and goes back and forth."""
    other = OrderFactory(customer_name="Fromagerie Dupont")
    open_link(client, order)
    post_step(client, order, "role", {"role": "partner"})
    open_link(client, other)                                    # the second tab
    post_step(client, other, "role", {"role": "partner"})
    # The first tab goes on where it was; the second keeps its own answers.
    assert current_step(answer(client, order, "installer", DEFAULT_ANSWERS["installer"])) == "partner_org"
    assert current_step(client.get(setup_url(other))) == "installer"
    other_answers = {"customer_admin": {"email": "dana.admin@fromagerie.example"},
                     "customer_org": {**DEFAULT_ANSWERS["customer_org"], "name": "Fromagerie Dupont"}}
    assert walk(client, other, other_answers)["Location"] == done_url(other)
    # The new partner org's administrator sets a password on the page of the order that created
    # it, which signs them in as a member of it...
    assert "new_password1" in client.get(done_url(other)).content.decode()
    assert set_password(client, other).status_code == 302
    assert User.objects.get(email=INSTALLER_EMAIL).check_password(ADMIN_PASSWORD)
    # ... so the first tab verifies the partner org the second created, then uses it.
    assert walk(client, order)["Location"] == done_url(order)
    order.refresh_from_db()
    other.refresh_from_db()
    assert (order.customer_org.name, other.customer_org.name) == ("Boulangerie Martin", "Fromagerie Dupont")
    assert order.partner_org == other.partner_org and Organization.objects.filter(kind="partner").count() == 1
    assert "new_password1" not in client.get(done_url(order)).content.decode()


def test_an_order_s_pages_need_that_order_s_link_in_this_browser(client, order):
    other = OrderFactory()
    open_link(client, order)
    assert client.get(setup_url(other)).status_code == 403     # editing the number in the URL
    assert post_step(client, other, "role", {"role": "partner"}).status_code == 403
    assert client.get(done_url(order)).status_code == 403      # not confirmed yet
    assert Provisioning.objects.get(pk=other.pk).setup_begun_at is None


def test_setup_leads_to_the_order_whose_link_was_opened_last(client, order):
    other = OrderFactory()
    assert client.get("/setup/").status_code == 403
    open_link(client, order)
    open_link(client, other)
    assert client.get("/setup/")["Location"] == setup_url(other)
    open_link(client, order)
    assert client.get("/setup/")["Location"] == setup_url(order)


def test_a_post_without_the_wizard_s_step_saves_nothing_and_shows_the_step_again(client, order):
    open_link(client, order)
    post_step(client, order, "role", {"role": "partner"})
    response = client.post(setup_url(order), {"installer-choice": "self"})
    assert response.status_code == 400 and response.context["wizard"]["steps"].current == "installer"
    assert "Nothing was saved" in response.content.decode()
    assert current_step(client.get(setup_url(order))) == "installer"


def test_a_step_from_a_stale_tab_goes_back_to_the_first_step(client, order):
    open_link(client, order)
    walk(client, order, until="customer_org")
    open_link(client, order)           # restarted in another tab
    response = post_step(client, order, "customer_org", DEFAULT_ANSWERS["customer_org"])
    assert current_step(response) == "role"
    assert "changed in another window" in response.content.decode()


# --- Confirm re-checks what may have changed meanwhile ------------------------------------------

def test_an_admin_email_taken_before_confirm_sends_the_user_back_to_that_step(client, order):
    open_link(client, order)
    walk(client, order, until="confirm")
    MembershipFactory(user__email=CUSTOMER_ADMIN_EMAIL, organization=PartnerOrgFactory())
    response = post_step(client, order, "confirm")
    assert current_step(response) == "customer_admin"
    assert "already belongs to another Webex organisation" in response.content.decode()
    assert Provisioning.objects.get(pk=order.pk).set_up_at is None
    assert not Organization.objects.filter(external_id="PTN-4411").exists()
    response = post_step(client, order, "customer_admin", {"email": "other.admin@customer.example"})
    assert walk(client, order)["Location"] == done_url(order)


def test_a_partner_org_created_meanwhile_is_shown_for_verification(client, order):
    open_link(client, order)
    walk(client, order, until="confirm")
    PartnerOrgFactory(external_id="PTN-4411", name="Created meanwhile")
    response = post_step(client, order, "confirm")
    assert current_step(response) == "partner_org"
    html = response.content.decode()
    assert "created by someone else a moment ago" in html and "Created meanwhile" in html
    assert Organization.objects.filter(kind="partner").count() == 1
    # Whoever created it, this browser is no member of it: it signs in or asks to join.
    assert "Sign in" in html and "Ask to join as ines.installer@partner.example" in html
    assert rows()["memberships"] == 0 and Provisioning.objects.get(pk=order.pk).set_up_at is None


def test_confirming_twice_sets_up_once(client, order):
    open_link(client, order)
    walk(client, order, until="confirm")
    assert post_step(client, order, "confirm").status_code == 302
    again = post_step(client, order, "confirm")       # the double click
    assert again.status_code == 302
    assert Organization.objects.count() == 2
    assert order.events.filter(kind=Event.Kind.SET_UP).count() == 1


# --- After Confirm: password, resume --------------------------------------------------------------

def test_the_new_partner_admin_sets_a_password_and_can_sign_in(client, order):
    open_link(client, order)
    walk(client, order)
    page = client.get(done_url(order)).content.decode()
    assert "Create the administrator password" in page and INSTALLER_EMAIL in page

    short = set_password(client, order, "short")
    assert short.status_code == 200 and "at least 10 characters" in short.content.decode()
    common = set_password(client, order, "password123")
    assert "too common" in common.content.decode()
    mismatch = client.post(done_url(order), {"new_password1": ADMIN_PASSWORD,
                                            "new_password2": ADMIN_PASSWORD + "x"})
    assert mismatch.status_code == 200 and "didn’t match" in mismatch.content.decode()

    response = set_password(client, order)
    assert response.status_code == 302 and response["Location"] != done_url(order)
    assert int(client.session["_auth_user_id"]) == User.objects.get(email=INSTALLER_EMAIL).pk
    assert Provisioning.objects.get(pk=order.pk).password_set_at is not None
    assert order.events.filter(kind=Event.Kind.PASSWORD_SET).count() == 1
    fresh = client.__class__()
    assert fresh.login(username=INSTALLER_EMAIL.upper(), password=ADMIN_PASSWORD)


@pytest.mark.parametrize("language, success, invited, assistant", [
    ("en", "Your order has been set up successfully", "We emailed an invitation to",
     "Subscription details · Service setup assistant"),
    ("fr", "Votre commande a été installée avec succès", "Nous avons envoyé une invitation à",
     "Détails d&#x27;abonnement · Assistant d'installation du service"),
])
def test_with_no_password_to_choose_a_member_goes_from_confirm_into_the_service_setup_assistant(
        client, order, language, success, invited, assistant):
    """"L'Assistant d'installation du service se lance": a signed-in member of the existing
    partner organisation confirms and lands on the assistant's first step, which says the order
    was set up and that the new customer administrator was invited."""
    order.language = language
    order.save()
    existing_partner(client)
    open_link(client, order)
    assert walk(client, order)["Location"] == done_url(order)

    response = client.get(done_url(order), follow=True)
    assert [url for url, _status in response.redirect_chain] == [
        f"/orders/{order.number}/services/", f"/orders/{order.number}/services/subscription/"]
    html = response.content.decode()
    assert f"<title>{assistant} · Webex</title>" in html
    messages = re.search(r'<div class="messages" role="status">(.*?)</div>', html, re.S).group(1)
    assert success in messages and f"{invited} {CUSTOMER_ADMIN_EMAIL}" in messages
    # Said once: reloading the step shows the step alone.
    assert success not in client.get(response.request["PATH_INFO"]).content.decode()


def test_a_new_administrator_chooses_the_password_on_the_done_page_before_the_assistant(
        client, order):
    open_link(client, order)
    walk(client, order)
    done = client.get(done_url(order))
    assert done.status_code == 200 and "new_password1" in done.content.decode()
    assert set_password(client, order)["Location"] == f"/orders/{order.number}/services/"


def test_the_raw_password_is_never_stored_in_a_session(client, order, redis_url):
    import redis
    from django.contrib.sessions.models import Session

    open_link(client, order)
    walk(client, order)
    set_password(client, order, "short-but-" + ADMIN_PASSWORD)   # valid: stored hashed only
    set_password(client, order, ADMIN_PASSWORD + "-mismatch")     # a failing POST too
    store = redis.Redis.from_url(redis_url)
    for key in store.scan_iter():
        if store.type(key) == b"string":
            assert ADMIN_PASSWORD.encode() not in store.get(key)
    assert not any(ADMIN_PASSWORD in s.session_data for s in Session.objects.all())
    assert ADMIN_PASSWORD not in str(dict(client.session))


def test_the_link_in_another_browser_after_confirm_offers_no_password_and_signs_nobody_in(
        client, order):
    raw = open_link(client, order)
    walk(client, order)
    other = client.__class__()
    open_link(other, order, raw=raw)
    response = other.get(setup_url(order))
    html = response.content.decode()
    assert response.status_code == 200 and "This order is already set up" in html
    assert "new_password1" not in html
    assert other.get(done_url(order)).status_code == 403
    assert set_password(other, order).status_code == 403
    assert not User.objects.get(email=INSTALLER_EMAIL).has_usable_password()
    assert "_auth_user_id" not in other.session
    assert other.get(f"/orders/{order.number}/services/subscription/")["Location"].startswith(
        "/accounts/login/")


def test_the_confirming_browser_reopening_its_link_returns_to_its_password(client, order):
    raw = open_link(client, order)
    walk(client, order)
    open_link(client, order, raw=raw)
    response = client.get(setup_url(order))
    assert response.status_code == 302 and response["Location"] == done_url(order)
    assert "new_password1" in client.get(done_url(order)).content.decode()
    set_password(client, order)
    assert client.session["_auth_user_id"] == str(User.objects.get(email=INSTALLER_EMAIL).pk)

    open_link(client, order, raw=raw)
    response = client.get(setup_url(order))
    assert response.status_code == 302 and "new_password1" not in client.get(
        response["Location"], follow=True).content.decode()


def test_a_link_opened_after_deploy_shows_the_deployed_page(client, order):
    from django.utils import timezone

    raw = open_link(client, order)
    walk(client, order)
    Provisioning.objects.filter(pk=order.pk).update(deployed_at=timezone.now(),
                                                    status=Status.DEPLOYED)
    response = client.get(f"/setup/{raw}/")
    assert response.status_code == 200
    assert "This order is already deployed" in response.content.decode()


# --- French ----------------------------------------------------------------------------------------

def test_the_wizard_speaks_the_orders_language(client, order):
    order.language = "fr"
    order.save()
    open_link(client, order)
    html = client.get(setup_url(order)).content.decode()
    assert "Je suis un partenaire" in html and "Je suis le client" in html
    html = post_step(client, order, "role", {"role": "partner"}).content.decode()
    for label in ("Oui, j&#x27;effectuerai l&#x27;installation",
                  "Une autre personne de mon entreprise effectuera l&#x27;installation",
                  "Le client effectuera l&#x27;installation", "Suivant", "Précédent"):
        assert label in html
    html = walk(client, order, until="confirm").content.decode()
    # Step 9 of the vendor's page: "Confirmez que les informations ... et cliquez sur Suivant".
    assert '<button type="submit" class="button primary">Suivant</button>' in html
    walk(client, order)
    assert "Votre commande a été installée avec succès" in client.get(done_url(order)).content.decode()


def test_a_french_partner_sees_the_not_recognised_button_in_french(client, order):
    PartnerOrgFactory(external_id="PTN-4411")
    open_link(client, order)
    client.cookies["django_language"] = "fr"
    html = walk(client, order, until="partner_org").content.decode()
    assert "Je ne reconnais pas l'organisation" in html


# --- Query budget ---------------------------------------------------------------------------------
# Measured: entry 5, first GET 5, role 9 (includes "setup begun"), installer 8, partner org 9,
# customer admin 11, customer org 11, confirm 41 (every org, user, membership and history row), done
# page 3. Each of these but the done page saves the session, a django_session row: an UPDATE (3
# queries here with the savepoint of the test's transaction around it), or on entry its INSERT (4).
# A step shown again (a reload, a language switch) reads the session and the link, then only what
# that step shows: the partner organisation, the people and organisations its answers name.

@pytest.mark.parametrize("step,budget", [("role", 11), ("installer", 9), ("partner_org", 10),
                                         ("customer_admin", 12), ("customer_org", 12)])
def test_each_step_stays_within_its_query_budget(client, order, django_assert_max_num_queries,
                                                 step, budget):
    # The installer is the deployment contact: no code to send (that path is the short one).
    answers = {**DEFAULT_ANSWERS, "installer": {**DEFAULT_ANSWERS["installer"],
                                                "email": order.deployment_contact_email}}
    open_link(client, order)
    walk(client, order, answers, until=step)
    with django_assert_max_num_queries(budget):
        response = post_step(client, order, step, answers[step])
    assert current_step(response) != step


@pytest.mark.parametrize("step,budget", [("role", 2), ("installer", 2), ("partner_org", 4),
                                         ("customer_admin", 5), ("customer_org", 6)])
def test_each_step_shown_again_stays_within_its_query_budget(
        client, order, django_assert_max_num_queries, step, budget):
    answers = {**DEFAULT_ANSWERS, "installer": {**DEFAULT_ANSWERS["installer"],
                                                "email": order.deployment_contact_email}}
    open_link(client, order)
    walk(client, order, answers, until=step)
    with django_assert_max_num_queries(budget):
        response = client.get(setup_url(order))
    assert current_step(response) == step


def test_the_link_and_confirm_stay_within_their_query_budgets(client, order,
                                                              django_assert_max_num_queries):
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    with django_assert_max_num_queries(5):
        client.get(f"/setup/{raw}/")
    with django_assert_max_num_queries(5):  # the wizard's storage is created
        client.get(setup_url(order))
    walk(client, order, until="confirm")
    with django_assert_max_num_queries(45):
        response = post_step(client, order, "confirm")
    assert response.status_code == 302
    with django_assert_max_num_queries(3):  # the session, the order with all it shows, an invitation
        client.get(done_url(order))
    assert len(mail.outbox) == 0  # nothing is emailed on this path


def test_the_password_step_stays_within_its_query_budget(client, order,
                                                        django_assert_max_num_queries):
    open_link(client, order)
    walk(client, order)
    client.get(done_url(order))
    # the session, order, user, then one transaction: the password, "password set", its history
    # row (and the savepoints of the test's transaction); signing in records the last login and,
    # sessions being rows, replaces the session row under a new key and saves it; django-axes
    # then clears this account's failed sign-ins and the expired ones (two DELETEs).
    with django_assert_max_num_queries(20):
        response = set_password(client, order)
    assert response.status_code == 302 and response["Location"] != done_url(order)
    assert User.objects.get(email=INSTALLER_EMAIL).check_password(ADMIN_PASSWORD)


def test_a_customer_admin_whose_email_was_taken_meanwhile_is_told_whom_to_ask(client, order):
    open_link(client, order)
    walk(client, order, {"installer": {**DEFAULT_ANSWERS["installer"], "choice": "customer"}})
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.CUSTOMER_ADMIN)
    MembershipFactory(user__email=CUSTOMER_ADMIN_EMAIL, organization=PartnerOrgFactory())
    customer = client.__class__()
    open_link(customer, order, raw=token_in(email))
    response = customer.get(setup_url(order))   # told at once, before filling anything in
    assert response.status_code == 409
    html = response.content.decode()
    assert "already belongs to another Webex organisation" in html
    assert "Contact your partner or your account representative" in html
    assert not Organization.objects.filter(kind="customer").exists()
    assert Provisioning.objects.get(pk=order.pk).set_up_at is None


def test_the_rep_email_says_which_organisation_and_who_reported_it(client, order):
    partner, _installer = existing_partner(client, email=order.deployment_contact_email)
    existing_customer(order, partner, name="Martin Holding")
    open_link(client, order)
    walk(client, order, until="customer_org")
    post_step(client, order, "customer_org", not_recognised="1")
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.REP_NOT_RECOGNISED)
    assert "does not recognise the customer organisation Martin Holding" in email.body_text
    assert order.deployment_contact_email in email.body_text
    assert f"/admin/orders/order/{order.pk}/change/" in email.body_text


def test_the_new_admin_may_choose_the_password_later_from_an_emailed_single_use_link(client, order):
    import re as regex

    from tests.wizard_helpers import as_sent

    open_link(client, order)
    walk(client, order)
    response = client.post(done_url(order), {"email_link": "1"})
    assert "We sent a link to ines.installer@partner.example" in response.content.decode()
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.PASSWORD)
    assert email.to == INSTALLER_EMAIL
    url = regex.search(r"https://onboarding\.example(/accounts/reset/[\w-]+/[\w-]+/)", as_sent(email)[1]).group(1)
    assert url.split("/")[-2] not in email.body_text  # made when sent
    browser = client.__class__()  # the admin's mailbox, opened anywhere
    set_page = browser.get(url, follow=True).redirect_chain[-1][0]
    browser.post(set_page, {"new_password1": ADMIN_PASSWORD, "new_password2": ADMIN_PASSWORD})
    assert User.objects.get(email=INSTALLER_EMAIL).check_password(ADMIN_PASSWORD)
    again = client.__class__().get(url, follow=True)
    assert "new_password1" not in again.content.decode()  # single use
