"""Walk the order setup wizard through Django's test client. Shared by the wizard, service setup
and reliability tests:

    token = open_link(client, order)             # GET /setup/<token>/ → the link is in the session
    walk(client, order)                          # every step, default answers, through Confirm
    walk(client, order, {"installer": {...}}, until="confirm")   # stop when Confirm is shown
    post_step(client, order, "customer_admin", {"email": "x@y.example"})   # one step by hand
"""
import re

from provisioning import outbox
from provisioning.models import SetupLink
from provisioning.links import issue_link
from tests.factories import CUSTOMER_ADMIN_EMAIL, INSTALLER_EMAIL
ADMIN_PASSWORD = "Correct-Horse-Battery-42"

DEFAULT_ANSWERS = {
    "role": {"role": "partner"},
    "installer": {"choice": "self", "name": "Inès Installer", "email": INSTALLER_EMAIL},
    "partner_org": {"name": "Réseaux Alpins SARL", "country": "FR"},
    "customer_admin": {"email": CUSTOMER_ADMIN_EMAIL},
    "customer_org": {"name": "Boulangerie Martin", "country": "FR", "address": "12 rue des Lilas",
                     "city": "Lyon", "postal_code": "69003"},
    "confirm": {},
}


def prefix(order):
    return f"setup_{order.pk}"


def setup_url(order):
    """The order's wizard, where its link leads once the token has left the address bar."""
    return f"/setup/orders/{order.number}/"


def done_url(order):
    """The order's "set up" page and its new administrator's password."""
    return f"/setup/orders/{order.number}/done/"


def open_link(client, order, email=None, purpose=SetupLink.Purpose.DEPLOYMENT, raw=None):
    """Issue a link (unless `raw` is given) and open it as the recipient's browser would."""
    raw = raw or issue_link(order, email or order.deployment_contact_email, purpose)
    response = client.get(f"/setup/{raw}/")
    assert response.status_code == 302 and response["Location"] == setup_url(order), response
    return raw


def post_step(client, order, step, data=None, **extra):
    """POST one step as its page would: `<prefix>-current_step` plus `<step>-<field>` values.
    `extra` goes as is: wizard_goto_step="role" (Back), not_recognised="1"."""
    payload = {f"{prefix(order)}-current_step": step}
    payload.update({f"{step}-{name}": value for name, value in (data or {}).items()})
    payload.update(extra)
    return client.post(setup_url(order), payload)


def current_step(response):
    context = getattr(response, "context", None)
    if response.status_code != 200 or not context or "wizard" not in context:
        return None
    return context["wizard"]["steps"].current


def code_sent_to(email):
    """The verification code last emailed to `email`, as its recipient reads it."""
    from provisioning.models import OutboundEmail

    sent = (OutboundEmail.objects.filter(kind=OutboundEmail.Kind.VERIFICATION, to=email.lower())
            .order_by("-pk").first())
    assert sent is not None, f"no code was sent to {email}"
    return re.search(r"^(\d{6})$", as_sent(sent)[1], re.M).group(1)


def needs_code(response):
    """True when the step just answered asks for the code emailed to the address typed."""
    form = response.context["wizard"]["form"] if current_step(response) else None
    return form is not None and "code" in form.errors


def answer(client, order, step, data):
    """POST one step; when it asks for the code emailed to the address typed, read that email
    and answer again with the code, as the person would."""
    response = post_step(client, order, step, data)
    if current_step(response) == step and needs_code(response) and not data.get("code"):
        response = post_step(client, order, step, {**data, "code": code_sent_to(data["email"])})
    return response


def walk(client, order, answers=None, until=None):
    """Answer each step the wizard shows (DEFAULT_ANSWERS overridden by `answers`, per step)
    until it stops showing steps (Confirm's redirect, an end page) or shows `until`. An address
    that needs confirming gets the code from its email. Fails on a step that refuses its
    answers. Returns the last response."""
    answers = {**DEFAULT_ANSWERS, **(answers or {})}
    response = client.get(setup_url(order))
    while True:
        step = current_step(response)
        if step is None or step == until:
            return response
        response = answer(client, order, step, answers.get(step, {}))
        if current_step(response) == step:
            form = response.context["wizard"]["form"]
            raise AssertionError(f"step {step} refused its answers: {form.errors.as_data()}")


def set_password(client, order, password=ADMIN_PASSWORD):
    return client.post(done_url(order), {"new_password1": password, "new_password2": password})


def as_sent(email):
    """(subject, text, html) of an outbox email as its recipient receives it: the stored row
    holds placeholders where its secrets go, filled in when it is sent."""
    return outbox.with_secrets(email)


def token_in(email):
    """The setup link's token in an outbox email, as its recipient receives it."""
    return re.search(r"/setup/([A-Za-z0-9_-]{32,})/", as_sent(email)[1]).group(1)


def existing_partner(client, email=INSTALLER_EMAIL, **org_fields):
    """The order's partner organisation (PTN-4411) exists, and `client` is signed in as one of
    its administrators, Inès. Returns (organisation, user)."""
    from orgs.models import Organization
    from tests.factories import InstallerFactory, PartnerOrgFactory

    partner = (Organization.objects.filter(kind="partner", external_id="PTN-4411").first()
               or PartnerOrgFactory(external_id="PTN-4411", **org_fields))
    user = InstallerFactory(email=email, organization=partner)
    client.force_login(user)
    return partner, user


def existing_customer(order, partner, admin_email=CUSTOMER_ADMIN_EMAIL, **fields):
    """The order's customer organisation exists, managed by `partner` (None: by the customer),
    with `admin_email` as its administrator."""
    from tests.factories import CustomerAdminFactory, CustomerOrgFactory

    fields.setdefault("external_id", order.customer_external_id)
    customer = CustomerOrgFactory(managed_by=partner, **fields)
    if admin_email:
        CustomerAdminFactory(email=admin_email, organization=customer)
    return customer
