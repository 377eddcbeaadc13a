"""Journey 1: a partner's first order, from the email to the deployed summary; then signing in
with the new password. The deployment email went to a shared alias: the installer types their
own address, which is proven by the 6-digit code emailed to it (read from that email, as a
person would) before the wizard goes on. In English and in French, and once with the keyboard
only."""
import pytest

from orgs.models import Organization, User
from provisioning.models import Event, OutboundEmail, Status
from tests.browser.conftest import (code_sent_to, email_to, enter_emailed_code, import_order,
                                    link_in_email, send_deployment_emails)
from tests.factories import CustomerOrgFactory, PartnerOrgFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTACT = "webex-deploy@partner.example"  # the order's deployment contact: a shared alias
INSTALLER = "ines.installer@partner.example"
CUSTOMER_ADMIN = "camille.admin@boulangerie.example"
NEW_PASSWORD = "Lilas-Lyon-69003!"

LABELS = {
    "en": {
        "set_up_now": "Set up now", "partner": "I am a partner", "self": "Yes, I will do the setup",
        "next": "Next", "back": "Back", "confirm": "Next", "your_name": "Your name",
        "your_email": "Your email", "admin_email": "Customer administrator's email",
        "success": "Your order has been set up successfully", "new_password": "New password",
        "new_password2": "New password confirmation", "save_password": "Save password",
        "subscription": "Subscription details", "calling": "Calling settings",
        "meetings": "Meeting settings", "enterprise": "Enterprise settings",
        "deploy_step": "Deploy and start billing", "location": "Default location name",
        "main_number": "Main number", "subdomain": "Subdomain", "check": "Check availability",
        "save": "Save", "deploy": "Deploy", "deployed": "Your services are deployed",
        "my_orders": "My orders", "email": "Email address", "password": "Password",
        "sign_in": "Sign in", "sign_out": "Sign out", "your_password": "Your password",
        "installer_heading": "Will you set up the services?",
        "org_name": "Partner organisation name", "country": "Country", "germany": "Germany",
        "rep_will_contact": "If provisioning has not started one day after the requested start "
                            "date, an account representative will contact you.",
    },
    "fr": {
        "set_up_now": "Configurer maintenant", "partner": "Je suis un partenaire",
        "self": "Oui, j'effectuerai l'installation", "next": "Suivant", "back": "Précédent",
        "confirm": "Suivant", "your_name": "Votre nom", "your_email": "Votre adresse e-mail",
        "admin_email": "Adresse e-mail de l'administrateur du client",
        "success": "Votre commande a été installée avec succès",
        "new_password": "Nouveau mot de passe",
        "new_password2": "Confirmation du nouveau mot de passe",
        "save_password": "Enregistrer le mot de passe",
        "subscription": "Détails d'abonnement", "calling": "Paramètres d'appel",
        "meetings": "Paramètres de la réunion", "enterprise": "Paramètres de l'entreprise",
        "deploy_step": "Déployer et commencer la facturation",
        "location": "Nom de l'emplacement par défaut", "main_number": "Numéro principal",
        "subdomain": "Sous-domaine", "check": "Vérifier la disponibilité", "save": "Enregistrer",
        "deploy": "Déployer", "deployed": "Vos services sont déployés", "my_orders": "Mes commandes",
        "email": "Adresse électronique", "password": "Mot de passe", "sign_in": "Se connecter",
        "sign_out": "Se déconnecter", "your_password": "Votre mot de passe",
        "installer_heading": "Installerez-vous les services ?",
        "org_name": "Nom de l'organisation partenaire", "country": "Pays", "germany": "Allemagne",
        "rep_will_contact": "Si le provisionnement n'a pas commencé un jour après la date de "
                            "démarrage demandée, un représentant de compte vous contactera.",
    },
}


def assert_country_select(j, t):
    """Countries by name in the page's language, the order's one chosen (not two letters)."""
    select = j.page.get_by_label(t["country"])
    assert select.evaluate("e => e.tagName") == "SELECT"
    assert select.evaluate("e => e.selectedOptions[0].text") == "France"
    assert select.input_value() == "FR"
    assert t["germany"] in select.locator("option").all_inner_texts()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_partner_proves_their_own_address_and_sets_up_their_first_order_to_deployed(
        journey, language):
    t = LABELS[language]
    order = import_order(f"CCW-1000{language == 'fr' and 2 or 1}", language=language)
    # Another organisation already has the subdomain the partner will try first.
    CustomerOrgFactory(name="Another Martin", subdomain="boulangerie-martin")
    send_deployment_emails(order)
    email = email_to(CONTACT)
    url = link_in_email(email, t["set_up_now"])
    # The vendor's step 3, told in the email and again on the wizard's first step.
    assert t["rep_will_contact"] in email.body and t["rep_will_contact"] in email.alternatives[0][0]

    j = journey(f"partner-first-order-{language}", locale="fr-FR" if language == "fr" else "en-GB")
    j.open(url)
    j.visit("role")
    assert j.page.locator("html").get_attribute("lang") == language
    assert t["rep_will_contact"] in j.page.get_by_role("main").inner_text()
    j.page.get_by_label(t["partner"]).check()
    j.press(t["next"])

    j.visit("installer")
    assert j.page.get_by_label(t["your_email"]).input_value() == CONTACT  # the link's recipient
    j.page.get_by_label(t["self"]).check()
    j.page.get_by_label(t["your_name"]).fill("Inès Installer")
    j.page.get_by_label(t["your_email"]).fill(INSTALLER)  # their own, not the shared alias
    j.press(t["next"])

    # Not the address the link was sent to: a code goes to it, and the step waits for it.
    assert j.heading() == t["installer_heading"]
    code_email = email_to(INSTALLER)
    assert order.number in code_email.subject
    stored = OutboundEmail.objects.get(to=INSTALLER)
    assert stored.kind == OutboundEmail.Kind.VERIFICATION
    assert code_sent_to(INSTALLER) not in stored.body_text + stored.body_html, \
        "the outbox keeps a placeholder where the code goes, never the code"
    assert not User.objects.filter(email=INSTALLER).exists()
    enter_emailed_code(j, INSTALLER, language, name="installer-code")

    j.visit("partner-org-create")
    assert j.page.get_by_label(t["org_name"]).input_value() == "Réseaux Alpins SARL"
    assert_country_select(j, t)
    j.press(t["next"])

    j.visit("customer-admin")
    j.page.get_by_label(t["admin_email"]).fill(CUSTOMER_ADMIN)
    j.press(t["next"])

    j.visit("customer-org-new")
    assert_country_select(j, t)
    j.press(t["next"])

    j.visit("confirm")
    assert Organization.objects.count() == 1, "nothing is saved before Confirm"
    assert INSTALLER in j.page.get_by_role("main").inner_text()
    j.press(t["confirm"])

    j.visit("set-up-successfully")
    assert t["success"] in j.heading()
    assert INSTALLER in j.page.get_by_role("main").inner_text()  # "You will sign in as …"
    j.page.get_by_label(t["new_password"], exact=True).fill(NEW_PASSWORD)
    j.page.get_by_label(t["new_password2"]).fill(NEW_PASSWORD)
    j.press(t["save_password"])

    j.visit("subscription")
    assert j.heading() == t["subscription"]
    j.press(t["next"])

    j.visit("calling")
    assert j.heading() == t["calling"]
    j.page.get_by_label(t["location"]).fill("Lyon")
    j.page.get_by_label(t["main_number"]).fill("04 72 00 00 00")
    j.press(t["next"])

    j.visit("meetings")
    assert j.heading() == t["meetings"]
    j.press(t["next"])

    j.visit("enterprise")
    assert j.heading() == t["enterprise"]
    j.page.get_by_label(t["subdomain"]).fill("boulangerie-martin")
    j.button(t["check"]).click()  # answered in place, without leaving the page
    suggestions = j.page.locator("button[name=pick]")
    suggestions.first.wait_for()
    j.visit("subdomain-taken")
    assert j.page.get_by_label(t["subdomain"]).get_attribute("aria-invalid") == "true"
    suggested = suggestions.first.inner_text().strip()
    suggestions.first.click()
    j.page.get_by_text(f"{suggested}.webex.com").first.wait_for()
    assert j.page.get_by_label(t["subdomain"]).input_value() == suggested
    j.button(t["check"]).click()
    j.page.locator(".availability .alert.success").wait_for()
    j.visit("subdomain-available")
    j.press(t["save"])

    j.visit("deploy")
    assert j.heading() == t["deploy_step"]
    # The password was chosen, and this browser signed in, moments ago: not asked again.
    assert not j.page.get_by_label(t["your_password"]).count()
    j.press(t["deploy"])

    j.visit("deployed")
    assert j.heading() == t["deployed"]
    order.provisioning.refresh_from_db()
    assert order.provisioning.status == Status.DEPLOYED
    assert Organization.objects.get(kind="customer", external_id="CUS-90210").subdomain == suggested
    installer = User.objects.get(email=INSTALLER)
    assert installer.membership.organization.external_id == "PTN-4411"
    assert installer.membership.role == "admin"
    assert not User.objects.filter(email=CONTACT).exists(), "the alias joined nothing"
    assert Event.objects.get(order=order, kind=Event.Kind.DEPLOYED).actor == installer

    # Later, in another browser: sign in with the new password, the order shows deployed.
    later = journey(f"partner-first-order-{language}-sign-in",
                    locale="fr-FR" if language == "fr" else "en-GB")
    later.open("/accounts/login/")
    later.visit("sign-in")
    later.page.get_by_label(t["email"]).fill(INSTALLER)
    later.page.get_by_label(t["password"]).fill(NEW_PASSWORD)
    later.press(t["sign_in"])
    later.visit("my-orders")
    assert later.heading() == t["my_orders"]
    row = later.page.get_by_role("row").filter(has_text=order.number)
    assert row.count() == 1


ACTIVE_NAME = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return "";
    const label = (el.labels && el.labels[0]) ? el.labels[0].textContent
        : (el.getAttribute("aria-label") || el.textContent || el.value || "");
    return label.replace(/\\s+/g, " ").trim();
}"""
FOCUS_VISIBLE = """() => {
    const style = getComputedStyle(document.activeElement);
    return style.boxShadow !== "none" || (style.outlineStyle !== "none" && style.outlineWidth !== "0px");
}"""


def tab_to(j, name, limit=40):
    """Press Tab until the focused control is `name` (its label or text); fails listing the
    tab order it saw, so a control out of reach of the keyboard is named."""
    seen = []
    for _ in range(limit):
        j.page.keyboard.press("Tab")
        current = j.page.evaluate(ACTIVE_NAME)
        seen.append(current)
        if current == name:
            assert j.page.evaluate(FOCUS_VISIBLE), f"{name!r} has no visible focus style"
            return
    raise AssertionError(f"{name!r} not reachable with Tab on {j.page.url}; tab order: {seen}")


def activate(j, name, key="Enter", navigates=True):
    tab_to(j, name)
    if not navigates:
        j.page.keyboard.press(key)
        return
    with j.page.expect_navigation():
        j.page.keyboard.press(key)
    j.page.wait_for_load_state("load")


def type_into(j, label, text):
    tab_to(j, label)
    j.page.keyboard.press("Control+A")
    j.page.keyboard.type(text)


def test_a_partner_sets_up_their_first_order_with_the_keyboard_only(journey):
    CustomerOrgFactory(name="Another Martin", subdomain="boulangerie-martin-keyboard")
    order = import_order("CCW-10003")
    send_deployment_emails(order)
    url = link_in_email(email_to(CONTACT))
    j = journey("partner-first-order-keyboard")
    j.open(url)  # the link is opened from the mail client; from here on, only the keyboard

    j.visit("role")
    tab_to(j, "I am a partner")
    j.page.keyboard.press("Space")
    activate(j, "Next")

    j.visit("installer")
    tab_to(j, "Yes, I will do the setup")
    j.page.keyboard.press("Space")
    type_into(j, "Your name", "Inès Installer")
    type_into(j, "Your email", INSTALLER)
    activate(j, "Next")
    # The code field is where the keyboard lands, and Enter in it goes on.
    j.visit("installer-code")
    assert j.page.evaluate(ACTIVE_NAME) == "Code from the email"
    j.page.keyboard.type(code_sent_to(INSTALLER))  # read in the mail client, typed here
    with j.page.expect_navigation():
        j.page.keyboard.press("Enter")

    j.visit("partner-org-create")
    activate(j, "Next")
    j.visit("customer-admin")
    type_into(j, "Customer administrator's email", CUSTOMER_ADMIN)
    with j.page.expect_navigation():
        j.page.keyboard.press("Enter")  # Enter in a field submits the step, as Next
    j.visit("customer-org-new")
    activate(j, "Next")
    j.visit("confirm")
    activate(j, "Next")

    j.visit("set-up-successfully")
    type_into(j, "New password", NEW_PASSWORD)
    type_into(j, "New password confirmation", NEW_PASSWORD)
    activate(j, "Save password")

    j.visit("subscription")
    activate(j, "Next")
    j.visit("calling")
    type_into(j, "Default location name", "Lyon")
    type_into(j, "Main number", "04 72 00 00 00")
    activate(j, "Next")
    j.visit("meetings")
    activate(j, "Next")

    j.visit("enterprise")
    type_into(j, "Subdomain", "boulangerie-martin-keyboard")  # another org has it
    activate(j, "Check availability", navigates=False)  # answered in place
    suggestions = j.page.locator("button[name=pick]")
    suggestions.first.wait_for()
    j.visit("subdomain-taken")
    suggested = suggestions.first.inner_text().strip()
    tab_to(j, suggested)
    j.page.keyboard.press("Enter")
    j.page.get_by_text(f"{suggested}.webex.com").first.wait_for()
    assert j.page.get_by_label("Subdomain").input_value() == suggested
    activate(j, "Check availability", navigates=False)
    j.page.locator(".availability .alert.success").wait_for()
    j.visit("subdomain-available")
    activate(j, "Save")
    j.visit("deploy")
    activate(j, "Deploy")
    j.visit("deployed")
    assert j.heading() == "Your services are deployed"
    order.provisioning.refresh_from_db()
    assert order.provisioning.status == Status.DEPLOYED
    assert Organization.objects.get(kind="customer", external_id="CUS-90210").subdomain == suggested

    # Another browser, still only the keyboard: sign in, the order shows deployed.
    later = journey("partner-first-order-keyboard-sign-in")
    later.open("/accounts/login/")
    later.visit("sign-in")
    type_into(later, "Email address", INSTALLER)
    type_into(later, "Password", NEW_PASSWORD)
    with later.page.expect_navigation():
        later.page.keyboard.press("Enter")
    later.visit("my-orders")
    assert later.page.get_by_role("row").filter(has_text=order.number).count() == 1


def test_the_wizard_speaks_the_vendors_french_words(journey):
    """SPEC's label table, in French: partners follow the vendor's French help pages; and the
    partner organisation step of a non-member, in French too."""
    PartnerOrgFactory(external_id="PTN-4411", name="Réseaux Alpins SARL")
    order = import_order("CCW-10004", language="fr")
    send_deployment_emails(order)
    j = journey("french-labels", locale="fr-FR")
    j.open(link_in_email(email_to(CONTACT), "Configurer maintenant"))
    j.visit("role")
    assert j.page.get_by_label("Je suis le client").count() == 1
    j.page.get_by_label("Je suis un partenaire").check()
    j.press("Suivant")
    j.visit("installer")
    for label in ["Oui, j'effectuerai l'installation",
                  "Une autre personne de mon entreprise effectuera l'installation",
                  "Le client effectuera l'installation"]:
        assert j.page.get_by_label(label).count() == 1, label
    j.press("Précédent")
    j.visit("back-to-role")
    assert j.page.get_by_label("Je suis un partenaire").is_checked()  # Back keeps the answer
    j.press("Suivant")
    j.page.get_by_label("Oui, j'effectuerai l'installation").check()
    j.page.get_by_label("Votre nom").fill("Inès Installer")
    # The address the email went to, as prefilled: proven by the link itself, no code.
    assert j.page.get_by_label("Votre adresse e-mail").input_value() == CONTACT
    j.press("Suivant")
    j.visit("partner-org-verify")
    assert j.heading() == "Vérifiez votre organisation partenaire"
    assert j.button("Je ne reconnais pas l'organisation").is_visible()
    # Not a member: sign in, or ask to join; no Next that would verify it.
    assert j.page.get_by_role("main").get_by_role("link", name="Se connecter").is_visible()
    assert j.button(f"Demander à rejoindre en tant que {CONTACT}").is_visible()
    assert not j.button("Suivant").count()
