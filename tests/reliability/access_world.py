"""The people and things of the access matrix (tests/reliability/test_access_matrix*.py), made
when first asked for: a POST cell builds only its actor and the objects its page names, in a
fresh database, so what one cell's POST changed never decides another cell.

The actors, each a browser (a django.test.Client) in a known state:

- anonymous: no cookies.
- partner_admin, customer_admin: signed-in administrators of the partner organisation and of
  its customer's organisation that set up orders A and D.
- rep (the account rep of A, C, D, S, X), staff (no permission), superuser.
- link_before: opened order P's Set up now link and answered every step up to Confirm, with
  the link recipient's own address as the installer. Not signed in.
- confirmer: opened order W's link and confirmed (a new partner organisation and its new
  administrator, who has no password yet). Not signed in.
- link_after_other: a second browser that opened the same link of W after that Confirm.
- unverified: opened P's link, chose "I am a partner" and typed an installer address that is
  not the link's recipient, without the code emailed to it.
- member: a signed-in member, not administrator, of A's partner organisation.
- other_partner: a signed-in administrator of another partner organisation (with its own
  customer and order B).
- other_customer_admin: a signed-in administrator of that other partner's customer (order B).
- other_rep: an account rep whose order is B, not A, C, D, S or X.
"""
import string
import time
from functools import cached_property
from html.parser import HTMLParser

from django.conf import settings
from django.test import Client

from onboarding import memberships
from onboarding.access import AUTHENTICATED_AT_KEY
from orgs.models import JoinRequest, Membership
from provisioning import tokens
from provisioning.models import SetupLink, SetupMode, Status
from provisioning.links import issue_link
from tests.factories import (CustomerOrgFactory, OrderFactory, PartnerOrgFactory, RepFactory,
                             UserFactory)
from tests.service_helpers import configure, member_of, set_up_order
from tests.wizard_helpers import done_url, needs_code, open_link, post_step, walk

ROLES = ["anonymous", "partner_admin", "customer_admin", "rep", "staff", "superuser",
         "link_before", "confirmer", "link_after_other", "unverified", "member",
         "other_partner", "other_customer_admin", "other_rep"]
SIGNED_IN = {"partner_admin", "customer_admin", "rep", "staff", "superuser", "member",
             "other_partner", "other_customer_admin", "other_rep"}
PASSWORD = "correct-horse-battery"  # every factory user's
UNPROVEN = "someone.else@partner.example"  # the unverified browser's installer address
P_CUSTOMER_ADMIN = "cora.admin@customer-p.example"
INVITEE = "ivan.invited@customer.example"
JOINER = "jo.newcomer@partner.example"

LOGIN = "login"  # a redirect to the sign-in page
ADMIN_LOGIN = "admin-login"


class World:
    def __init__(self):
        self._clients = {}

    # -- Organisations and orders ----------------------------------------------------------------

    @cached_property
    def rep_user(self):
        return RepFactory()

    @cached_property
    def partner_org(self):
        return PartnerOrgFactory()

    @cached_property
    def order_a(self):
        """Set up by its partner, not configured: the service setup starts at its first step."""
        return set_up_order(partner_org=self.partner_org, account_rep=self.rep_user)

    @cached_property
    def order_d(self):
        """A's partner and customer, every step before Deploy done: Deploy may start billing."""
        return configure(set_up_order(partner_org=self.partner_org, account_rep=self.rep_user,
                                      customer_org=self.order_a.customer_org),
                         subdomain="martin-matrix")

    @cached_property
    def order_c(self):
        """Of A's partner, set up by the customer: never the partner's (spec step 5)."""
        return set_up_order(partner_org=self.partner_org, mode=SetupMode.CUSTOMER,
                            account_rep=self.rep_user)

    @cached_property
    def order_s(self):
        """Stalled, not set up: the rep dashboard's."""
        order = OrderFactory(account_rep=self.rep_user)
        type(order.provisioning).objects.filter(pk=order.pk).update(
            stalled_at="2026-01-02T09:00Z")
        return order

    @cached_property
    def order_x(self):
        """Closed: re-open's."""
        order = OrderFactory(account_rep=self.rep_user)
        type(order.provisioning).objects.filter(pk=order.pk).update(status=Status.CLOSED)
        return order

    @cached_property
    def other_partner_org(self):
        return PartnerOrgFactory()

    @cached_property
    def other_customer_org(self):
        return CustomerOrgFactory(managed_by=self.other_partner_org)

    @cached_property
    def order_b(self):
        """The other partner's order for its own customer; other_rep is its rep."""
        return set_up_order(partner_org=self.other_partner_org,
                            customer_org=self.other_customer_org, account_rep=self.other_rep_user)

    @cached_property
    def other_rep_user(self):
        return RepFactory()

    @cached_property
    def order_p(self):
        """Not set up: its Set up now link is in the link_before and unverified browsers."""
        return OrderFactory(account_rep=self.rep_user)

    @cached_property
    def raw_p(self):
        return issue_link(self.order_p, self.order_p.deployment_contact_email,
                          SetupLink.Purpose.DEPLOYMENT)

    @cached_property
    def order_w(self):
        """Set up through the wizard by the confirmer browser (a partner id of its own, so its
        new partner organisation is not P's)."""
        return OrderFactory(account_rep=self.rep_user, partner_external_id="PTN-7777")

    @cached_property
    def raw_w(self):
        return issue_link(self.order_w, self.order_w.deployment_contact_email,
                          SetupLink.Purpose.DEPLOYMENT)

    @cached_property
    def join_request(self):
        """A pending request to join A's partner organisation, with the approve/decline link of
        its administrator's email."""
        return JoinRequest.objects.create(organization=self.partner_org, email=JOINER,
                                          full_name="Jo Newcomer", order=self.order_a,
                                          nonce=tokens.new_nonce())

    @cached_property
    def join_token(self):
        return memberships.join_token(self.join_request, self.user("partner_admin").pk)

    @cached_property
    def invitation(self):
        """A's customer organisation invites a new administrator (no account yet)."""
        return memberships.invite_admin(self.order_a, self.order_a.customer_org, INVITEE)

    @cached_property
    def invitation_token(self):
        return memberships.invitation_token(self.invitation)

    # -- People ----------------------------------------------------------------------------------

    @cached_property
    def _users(self):
        return {}

    def user(self, role):
        """The signed-in actors' users."""
        if role not in self._users:
            self._users[role] = self._make_user(role)
        return self._users[role]

    def _make_user(self, role):
        if role == "partner_admin":
            return member_of(self.partner_org)
        if role == "customer_admin":
            return member_of(self.order_a.customer_org)
        if role == "member":
            return member_of(self.partner_org, role=Membership.Role.MEMBER)
        if role == "rep":
            return self.rep_user
        if role == "staff":
            return UserFactory(is_staff=True)
        if role == "superuser":
            return UserFactory(is_staff=True, is_superuser=True)
        if role == "other_partner":
            return member_of(self.other_partner_org)
        if role == "other_customer_admin":
            return member_of(self.other_customer_org)
        if role == "other_rep":
            self.order_b  # noqa: B018 - the order that makes them a rep of another order
            return self.other_rep_user
        raise KeyError(role)

    def client(self, role):
        if role not in self._clients:
            self._clients[role] = self._make_client(role)
        return self._clients[role]

    def _make_client(self, role):
        client = Client()
        if role in SIGNED_IN:
            client.force_login(self.user(role))
        elif role == "link_before":
            order = self.order_p
            open_link(client, order, raw=self.raw_p)
            response = walk(client, order, {
                "installer": {"choice": "self", "name": "Paul Partner",
                              "email": order.deployment_contact_email},
                "customer_admin": {"email": P_CUSTOMER_ADMIN}}, until="confirm")
            assert response.status_code == 200, response
        elif role == "unverified":
            order = self.order_p
            open_link(client, order, raw=self.raw_p)
            post_step(client, order, "role", {"role": "partner"})
            response = post_step(client, order, "installer", {
                "choice": "self", "name": "Someone Else", "email": UNPROVEN})
            assert needs_code(response)
        elif role == "confirmer":
            order = self.order_w
            open_link(client, order, raw=self.raw_w)
            response = walk(client, order)
            assert response.status_code == 302 and response["Location"] == done_url(order)
        elif role == "link_after_other":
            self.client("confirmer")  # the order is confirmed first, in another browser
            open_link(client, self.order_w, raw=self.raw_w)
        else:
            assert role == "anonymous", role
        return client

    def age_sign_in(self, role, by=None):
        """The actor signed in `by` seconds ago (default: longer ago than REAUTHENTICATE_AFTER,
        so Deploy asks for the password again); by=0: just now."""
        by = settings.REAUTHENTICATE_AFTER + 60 if by is None else by
        client = self.client(role)
        session = client.session
        if AUTHENTICATED_AT_KEY in session:
            session[AUTHENTICATED_AT_KEY] = int(time.time()) - by
            session.save()

    def leave_idle(self, role):
        """The actor's last request was longer ago than STAFF_IDLE_TIMEOUT (staff are signed out
        by config.middleware.StaffIdleTimeoutMiddleware; others keep their session)."""
        from config.middleware import StaffIdleTimeoutMiddleware

        session = self.client(role).session
        session[StaffIdleTimeoutMiddleware.KEY] = \
            int(time.time() - settings.STAFF_IDLE_TIMEOUT.total_seconds()) - 60
        session.save()

    def forget(self, role):
        """The actor's browser is made again when next asked for (e.g. after a sign-out)."""
        self._clients.pop(role, None)

    # -- URLs ------------------------------------------------------------------------------------

    NAMES = {
        "A": lambda w: w.order_a.number, "Apk": lambda w: w.order_a.pk,
        "B": lambda w: w.order_b.number, "C": lambda w: w.order_c.number,
        "D": lambda w: w.order_d.number, "P": lambda w: w.order_p.number,
        "S": lambda w: w.order_s.number, "Spk": lambda w: w.order_s.pk,
        "X": lambda w: w.order_x.number, "W": lambda w: w.order_w.number,
        "J": lambda w: w.join_token, "I": lambda w: w.invitation_token,
    }

    def url(self, template):
        """`template` with {A}, {D}… replaced by this world's values, made only when named."""
        fields = {name for _text, name, _spec, _conv in string.Formatter().parse(template) if name}
        return template.format(**{name: self.NAMES[name](self) for name in fields})


def outcome(response):
    """A response's status, or LOGIN / ADMIN_LOGIN for a redirect to a sign-in page."""
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith("/admin/login/"):
            return ADMIN_LOGIN
        if location.startswith("/accounts/login/"):
            return LOGIN
    return response.status_code


def signed_in_as(client):
    return client.session.get("_auth_user_id")


class _FormFields(HTMLParser):
    """The values a browser would send for the form `form_id` of a page."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id = form_id
        self.data, self._in_form, self._select, self._textarea = [], False, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self._in_form = True
        if not self._in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data.append((name, attrs.get("value", "on" if attrs.get("type") == "checkbox"
                                              else "")))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.data.append((self._select, attrs.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data.append((name, ""))

    def handle_data(self, data):
        if self._textarea:
            self.data[-1] = (self._textarea, self.data[-1][1] + data)

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def form_data(html, form_id):
    """{name: value or [values]} of the form `form_id` of a page, as a browser would send it."""
    parser = _FormFields(form_id)
    parser.feed(html)
    data = {}
    for name, value in parser.data:
        if name in data:
            data[name] = [*([data[name]] if isinstance(data[name], str) else data[name]), value]
        else:
            data[name] = value
    data.pop("csrfmiddlewaretoken", None)
    return data



# --- What a cell expects ------------------------------------------------------------------------

class Answer:
    """The page answers `status` (or LOGIN / ADMIN_LOGIN), redirecting to `to` if given, its
    page containing each of `has` and none of `lacks` ({A}… as in URLs), and the POST changes
    nothing the row watches."""

    done = False
    signs_in = False

    def __init__(self, status, to=None, has=(), lacks=(), signs_out=False):
        self.status, self.to, self.signs_out = status, to, signs_out
        self.has = (has,) if isinstance(has, str) else tuple(has)
        self.lacks = (lacks,) if isinstance(lacks, str) else tuple(lacks)

    def problems(self, world, response, changed):
        got = outcome(response)
        found = []
        if got != self.status:
            found.append(f"expected {self.status}, got {got}")
        elif self.to is not None and response["Location"] != world.url(self.to):
            found.append(f"expected a redirect to {world.url(self.to)}, got {response['Location']}")
        html = response.content.decode(errors="replace") if self.has or self.lacks else ""
        found += [f"page lacks {world.url(s)!r}" for s in self.has if world.url(s) not in html]
        found += [f"page shows {world.url(s)!r}" for s in self.lacks if world.url(s) in html]
        if changed != self.done:
            found.append("the POST was carried out" if changed else "the POST changed nothing")
        return found

    def __repr__(self):
        return f"{type(self).__name__}({self.status})"


class Done(Answer):
    """Answers like Answer, and the POST was carried out (the row's watched state changed).
    signs_in: the browser is signed in as someone else afterwards (a password chosen, an
    invitation accepted); any other cell must leave who is signed in as it was."""

    done = True

    def __init__(self, status, to=None, has=(), lacks=(), signs_in=False):
        super().__init__(status, to, has, lacks)
        self.signs_in = signs_in


class Step(Answer):
    """The wizard shows step `name` (200) and nothing is created; asks_code: that step asks for
    the code emailed to the address typed."""

    def __init__(self, name, asks_code=False):
        super().__init__(200)
        self.name, self.asks_code = name, asks_code

    def problems(self, world, response, changed):
        from tests.wizard_helpers import current_step

        found = super().problems(world, response, changed)
        step = current_step(response)
        if step != self.name:
            found.append(f"expected the wizard's {self.name} step, got {step}")
        elif self.asks_code:
            form = response.context["wizard"]["form"]
            if "code" not in form.fields or (form.is_bound and "code" not in form.errors):
                found.append("the step does not ask for the emailed code")
        return found

    def __repr__(self):
        return f"Step({self.name})"


def expectation(value):
    return value if isinstance(value, Answer) else Answer(value)
