"""Items 16 and issue 12: who may open what, and who may do what.

Fourteen people (tests/reliability/access_world.py: the six of item 16, and issue 12's setup-link
holder before Confirm, the browser that confirmed, the same link in another browser after
Confirm, an unverified installer address, a member who is not an administrator, another
partner's member, another partner's customer's administrator, the rep of another order) × every
page: GET (MATRIX) and POST wherever a page takes one (POSTS: wizard
steps, the done page's password, service steps, Deploy, join decisions, invitations, the rep
dashboard's actions, admin actions and the admin change form) → the expected answer, and for a
POST whether it was carried out. Each page's CSRF refusal is checked as a CSRF failure, every
admin list and add page is swept for each of them, and ids edited in URLs reach nothing."""
import importlib
from dataclasses import dataclass, field
from typing import Callable

import pytest
from django.apps import apps
from django.contrib import admin

from orders.models import Order
from orgs.models import Invitation, JoinRequest, Membership, Organization, User
from provisioning.models import (BillingPeriod, CallingSettings, Event, MeetingSettings,
                                 Provisioning, Subscription)
from tests.reliability import figures
from tests.reliability.access_world import (ADMIN_LOGIN, JOINER, LOGIN, PASSWORD,
                                            ROLES, Answer, Done, Step, World, expectation,
                                            form_data, signed_in_as)
from tests.reliability.test_security import is_csrf_failure, security_header_problems
from tests.wizard_helpers import ADMIN_PASSWORD

pytestmark = pytest.mark.django_db

L, AL = LOGIN, ADMIN_LOGIN
# Columns, in ROLES order:
#   anonymous, partner_admin, customer_admin, rep, staff, superuser,
#   link_before, confirmer, link_after_other, unverified,
#   member, other_partner, other_customer_admin, other_rep

ALREADY_SET_UP = Answer(200, has="This order is already set up", lacks="new_password1")
BACK_TO_DONE = Answer(302, to="/setup/orders/{W}/done/")


def row(everyone):
    return [everyone] * len(ROLES)


def members_only(manager, others=404):
    """Service setup: the signed-in members of A's (or D's) partner and customer organisations;
    the link holders, signed in as nobody, are sent to sign in."""
    return [L, manager, manager, others, others, others, L, L, L, L, manager, others, others,
            others]


def deployers(admin, member=403, staff=404):
    """Deploy: the administrators of A's (D's) partner and customer organisations; their member
    who is not an administrator sees the page but may not deploy."""
    return [L, admin, admin, staff, staff, staff, L, L, L, L, member, 404, 404, staff]


def nobody_signed_in_may(signed_in=404):
    return [L, *[signed_in] * 5, L, L, L, L, *[signed_in] * 4]


def link_only(link_before, confirmer=403, after=403, unverified=403):
    return [*[403] * 6, link_before, confirmer, after, unverified, *[403] * 4]


def reps(rep, other_rep, superuser=None, others=403):
    superuser = rep if superuser is None else superuser
    return [L, others, others, rep, others, superuser, L, L, L, L, others, others, others,
            other_rep]


def admin_staff(rep, staff, superuser, other_rep=None):
    return [AL, AL, AL, rep, staff, superuser, AL, AL, AL, AL, AL, AL, AL,
            rep if other_rep is None else other_rep]


# {A} the partner's set-up order, {D} the same partner's and customer's order ready to deploy,
# {C} a customer-led order of that partner, {B} the other partner's order, {S} a stalled order,
# {X} a closed one, {P} the order whose link link_before and unverified hold, {W} the order the
# confirmer set up, {Apk} the order's primary key in admin, {J} and {I} the tokens of a request to
# join A's partner organisation and of an invitation to administer A's customer organisation.
MATRIX = {
    # Sign-in pages: everyone.
    "/accounts/login/": row(200),
    "/accounts/password_reset/": row(200),
    "/": row(200),
    "/healthz": row(200),
    # Prometheus' endpoint takes a bearer token (METRICS_TOKEN), never a session: unset, as here,
    # it does not exist for anyone (tests/test_metrics.py: with it set, 401 without the token).
    "/metrics": row(404),
    # Setup pages: the link in this browser's session decides, never who is signed in.
    "/setup/": link_only(Answer(302, to="/setup/orders/{P}/"),
                         Answer(302, to="/setup/orders/{W}/"), Answer(302, to="/setup/orders/{W}/"),
                         Answer(302, to="/setup/orders/{P}/")),
    "/setup/orders/{S}/": row(403),
    "/setup/orders/{S}/done/": row(403),
    # P's wizard: its link holder is at Confirm; the unverified address is asked for its code.
    "/setup/orders/{P}/": link_only(Step("confirm"), unverified=Step("installer", asks_code=True)),
    "/setup/orders/{P}/done/": row(403),  # nobody confirmed P yet
    # W after Confirm: the browser that confirmed goes back to its done page and the password;
    # the same link in another browser learns that the order is set up, and nothing more.
    "/setup/orders/{W}/": link_only(403, BACK_TO_DONE, ALREADY_SET_UP),
    "/setup/orders/{W}/done/": link_only(403, Answer(200, has="new_password1")),
    # My orders: signed-in people, each seeing their organisation's orders only.
    "/my/orders/": [L, Answer(200, has=["{A}", "{D}"], lacks="{B}"),
                    Answer(200, has=["{A}", "{D}"], lacks="{B}"), 200, 200, 200, L, L, L, L,
                    Answer(200, has="{A}", lacks="{B}"), Answer(200, has="{B}", lacks="{A}"),
                    Answer(200, has="{B}", lacks="{A}"), 200],
    # Where the wizard hands over: My orders for the signed in, the sign-in page for the rest.
    "/services/": nobody_signed_in_may(302),
    # Service setup of A and D: their partner's and customer's members; a link opens none.
    "/orders/{A}/services/": members_only(302),
    "/orders/{A}/services/subscription/": members_only(200),
    "/orders/{A}/services/deploy/": members_only(302),  # to the first step not done
    "/orders/{A}/services/deployed/": members_only(302),
    "/orders/{D}/services/calling/": members_only(200),
    "/orders/{D}/services/meetings/": members_only(200),
    "/orders/{D}/services/enterprise/": members_only(200),
    "/orders/{D}/services/deploy/": deployers(
        Answer(200, lacks=['name="password"', "Only an administrator of the order"]),
        member=Answer(200, has="Only an administrator of the order")),
    # The other partner's order: its own members only.
    "/orders/{B}/services/subscription/": [L, 404, 404, 404, 404, 404, L, L, L, L, 404, 200,
                                           200, 404],
    # Orders nobody here may set up: customer-led (never the partner's, spec step 5), not set up
    # (P: its link opens the wizard only), set up by a browser whose admin has no password (W),
    # or not existing (the same answer as one you may not see).
    "/orders/{C}/services/subscription/": nobody_signed_in_may(404),
    "/orders/{P}/services/": nobody_signed_in_may(404),
    "/orders/{W}/services/subscription/": nobody_signed_in_may(404),
    "/orders/CCW-00000000/services/subscription/": nobody_signed_in_may(404),
    # The rep dashboard: account reps (and superusers), each seeing their own stalled orders
    # unless they ask for everyone's; another order's rep may not change this one's contact.
    "/reps/stalled/": reps(Answer(200, has="{S}"), Answer(200, lacks="{S}"), superuser=200),
    "/reps/stalled/?reps=all": reps(Answer(200, has="{S}"), Answer(200, has="{S}")),
    "/reps/stalled/?format=csv": reps(200, 200),
    "/reps/orders/{S}/resend/": reps(200, 200),
    "/reps/orders/{S}/contact/": reps(200, 403),
    "/reps/orders/{S}/contacted/": reps(200, 200),
    "/reps/orders/{S}/reopen/": reps(200, 200),
    # Admin: staff only; within it, each model only with its permission.
    "/admin/": admin_staff(200, 200, 200),
    "/admin/orders/order/": admin_staff(200, 403, 200),
    "/admin/orders/order/{Apk}/change/": admin_staff(200, 403, 200),
    "/admin/orgs/user/": admin_staff(403, 403, 200),
    "/admin/orders/apikey/": admin_staff(403, 403, 200),
    "/admin/provisioning/provisioning/": admin_staff(200, 403, 200),
    # Requests to join: each organisation's administrators see their own (others: none).
    "/my/organisation/requests/": [L, Answer(200, has=JOINER), Answer(200, lacks=JOINER),
                                   200, 200, 200, L, L, L, L, Answer(200, lacks=JOINER),
                                   Answer(200, lacks=JOINER), Answer(200, lacks=JOINER), 200],
    # Approve/decline and invitation links: the emailed token, not a person, decides; a made-up
    # one is refused whoever asks. A GET decides nothing (POSTS below).
    "/join-requests/{J}/": row(Answer(200, has="Approve")),
    "/invitations/{I}/": row(Answer(200, has="Accept the invitation")),
    "/join-requests/1-1-not-a-token/": row(404),
    "/invitations/1-not-a-token/": row(404),
    # The API takes a bearer key, never a session: a signed-in superuser is still refused.
    "POST /api/orders": row(401),
    # The email provider's delivery webhook: Mailgun's signature decides, never who is signed in
    # (an unsigned post is refused whoever sends it; signed ones: tests/test_delivery_feedback.py).
    "POST /webhooks/mailgun/tracking/": row(400),
}


def _everything(world):
    """Every actor and every object the pages name, made before the GET sweep starts."""
    for role in ROLES:
        world.client(role)
    for name in World.NAMES:
        world.url("{%s}" % name)


# Rows that a GET must never change (beyond sessions, and django-axes' records of sign-ins).
NOT_WATCHED = {"sessions.session", "axes.accessattempt", "axes.accesslog",
               "axes.accessfailurelog"}


def _database():
    state = {m._meta.label_lower: m.objects.count() for m in apps.get_models()
             if m._meta.label_lower not in NOT_WATCHED}
    for model in (Order, Provisioning, Organization, Membership, JoinRequest, Invitation,
                  Subscription):
        state[f"{model._meta.label_lower} rows"] = list(model.objects.order_by("pk").values())
    state["passwords"] = list(User.objects.order_by("pk").values_list("password", flat=True))
    return state


def test_every_person_gets_the_expected_answer_on_every_page():
    world = World()
    _everything(world)
    before = _database()
    wrong, headers_missing, cells = [], [], 0
    for url, expected in MATRIX.items():
        assert len(expected) == len(ROLES), url
        method, _, path = url.rpartition(" ")
        path = world.url(path)
        for role, want in zip(ROLES, expected):
            client = world.client(role)
            response = client.post(path, "{}", content_type="application/json") if method == "POST" \
                else client.get(path)
            cells += 1
            headers_missing += [(url, role, p) for p in security_header_problems(response)]
            # A GET changes nothing, so the cell's "carried out" is False by definition here.
            wrong += [f"{url} as {role}: {p}" for p in
                      expectation(want).problems(world, response, changed=False)]
    assert wrong == [], "\n".join(wrong)
    assert headers_missing == []  # item 17: on every answer, whoever asks
    assert _database() == before, "a GET changed data"
    figures.record("access_matrix", {"people": len(ROLES), "urls": len(MATRIX), "cells": cells})


# --- POST: every page that takes one, by each of the fourteen ----------------------------------

@dataclass
class Post:
    """A form POSTed as its page would send it. `data(world)` the fields; `watch(world)` the
    state a POST that is carried out changes; `aged`: every session signed in longer ago than
    REAUTHENTICATE_AFTER (Deploy asks for the password again); `idle`: every session's last
    request longer ago than STAFF_IDLE_TIMEOUT (staff are signed out)."""

    url: str
    expected: list
    watch: Callable
    data: Callable = field(default=lambda world: {})
    aged: bool = False
    idle: bool = False


def _wizard_step(step, order_attr="order_p", **values):
    """A wizard step's fields as its page sends them (tests/wizard_helpers.py post_step)."""
    def data(world):
        order = getattr(world, order_attr)
        return {f"setup_{order.pk}-current_step": step,
                **{f"{step}-{name}": value for name, value in values.items()}}
    return data


def _granted(order_attr):
    """What a wizard may leave behind, and the order's own state."""
    def watch(world):
        order = getattr(world, order_attr)
        provisioning = Provisioning.objects.get(pk=order.pk)
        return (Organization.objects.count(), Membership.objects.count(),
                User.objects.filter(is_staff=False).count(), Invitation.objects.count(),
                JoinRequest.objects.count(), provisioning.set_up_at, provisioning.password_set_at,
                list(User.objects.order_by("pk").values_list("password", flat=True)))
    return watch


def _subscription(order_attr):
    return lambda world: Subscription.objects.filter(order=getattr(world, order_attr),
                                                     reviewed_at__isnull=False).exists()


def _deployed(order_attr):
    def watch(world):
        order = getattr(world, order_attr)
        return (Provisioning.objects.get(pk=order.pk).deployed_at,
                BillingPeriod.objects.filter(subscription__order=order).count())
    return watch


def _events(order_attr, kind):
    return lambda world: Event.objects.filter(order=getattr(world, order_attr), kind=kind).count()


def _contact(world):
    return Order.objects.get(pk=world.order_s.pk).deployment_contact_email


def _join_status(world):
    return list(JoinRequest.objects.order_by("pk").values_list("status", "decided_by"))


def _invitations(world):
    return list(Invitation.objects.order_by("pk").values_list("accepted_at", flat=True))


def _admin_change(world):
    """The admin change form of order A as a superuser's browser sends it, language changed."""
    superuser = world.client("superuser")
    html = superuser.get(world.url("/admin/orders/order/{Apk}/change/")).content.decode()
    return {**form_data(html, "order_form"), "language": "fr"}


def PASSWORD_FORM(world):
    return {"new_password1": ADMIN_PASSWORD, "new_password2": ADMIN_PASSWORD}


DEPLOY_DONE = Done(302, to="/orders/{D}/services/deployed/")
ASKS_PASSWORD = Answer(400, has='name="password"')
IDLE_OUT = Answer(LOGIN, signs_out=True)
INSTALLER_OWN = {"choice": "self", "name": "Paul Partner", "email": "webex-deploy@partner.example"}
INSTALLER_UNPROVEN = {"choice": "self", "name": "Paul Partner",
                      "email": "not.the.recipient@partner.example"}

POSTS = [
    # The wizard of P, up to Confirm: only the browsers holding P's link; the one that typed an
    # unproven address goes no further than the installer step, whatever it posts.
    Post("/setup/orders/{P}/ role", link_only(Step("installer"), unverified=Step("installer")),
         _granted("order_p"), _wizard_step("role", role="partner")),
    Post("/setup/orders/{P}/ installer, the link recipient's own address",
         link_only(Step("partner_org"), unverified=Step("partner_org")),
         _granted("order_p"), _wizard_step("installer", **INSTALLER_OWN)),
    Post("/setup/orders/{P}/ installer, another address without its code",
         link_only(Step("installer", asks_code=True), unverified=Step("installer", asks_code=True)),
         _granted("order_p"), _wizard_step("installer", **INSTALLER_UNPROVEN)),
    Post("/setup/orders/{P}/ installer, the unverified address with a wrong code",
         link_only(Step("installer", asks_code=True), unverified=Step("installer", asks_code=True)),
         _granted("order_p"),
         _wizard_step("installer", choice="self", name="Someone Else",
                      email="someone.else@partner.example", code="not-the-code")),
    Post("/setup/orders/{P}/ partner_org, a new organisation",
         link_only(Step("customer_admin"), unverified=Step("role")),
         _granted("order_p"), _wizard_step("partner_org", name="Réseaux Alpins SARL", country="FR")),
    Post("/setup/orders/{P}/ confirm",
         link_only(Done(302, to="/setup/orders/{P}/done/"), unverified=Step("role")),
         _granted("order_p"), _wizard_step("confirm")),
    # W after Confirm: a step POSTed again changes nothing, for anyone; the password is the
    # confirming browser's only.
    Post("/setup/orders/{W}/ role, after Confirm", link_only(403, BACK_TO_DONE, ALREADY_SET_UP),
         _granted("order_w"), _wizard_step("role", "order_w", role="partner")),
    Post("/setup/orders/{W}/done/ the new administrator's password",
         link_only(403, Done(302, to="/orders/{W}/services/", signs_in=True)),
         _granted("order_w"), PASSWORD_FORM),
    Post("/setup/orders/{P}/done/ a password before Confirm", row(403), _granted("order_p"),
         PASSWORD_FORM),
    Post("/orders/{W}/services/subscription/", nobody_signed_in_may(404), _subscription("order_w")),
    Post("/orders/{W}/services/deploy/", nobody_signed_in_may(404), _deployed("order_w")),
    # Service setup: members of a managing organisation save steps; Deploy, its administrators
    # who signed in recently (or enter their password again).
    Post("/orders/{A}/services/subscription/",
         members_only(Done(302, to="/orders/{A}/services/calling/")), _subscription("order_a")),
    Post("/orders/{D}/services/calling/",
         members_only(Done(302, to="/orders/{D}/services/meetings/")),
         lambda w: CallingSettings.objects.get(order=w.order_d).location_name,
         lambda w: {"country": "FR", "time_zone": "Europe/Paris", "location_name": "Matrix HQ",
                    "main_number": "+33478000001"}),
    Post("/orders/{D}/services/meetings/",
         members_only(Done(302, to="/orders/{D}/services/enterprise/")),
         lambda w: MeetingSettings.objects.get(order=w.order_d).join_before_host,
         lambda w: {"language": "fr", "time_zone": "Europe/Paris", "recording_allowed": "on",
                    "guests_allowed": "on", "join_before_host": "on"}),
    Post("/orders/{D}/services/enterprise/ save",
         members_only(Done(302, to="/orders/{D}/services/deploy/")),
         lambda w: Organization.objects.get(pk=w.order_d.customer_org_id).subdomain,
         lambda w: {"subdomain": "matrix-site", "save": "1"}),
    Post("/orders/{D}/services/deploy/", deployers(DEPLOY_DONE), _deployed("order_d")),
    Post("/orders/{D}/services/deploy/ signed in long ago, no password", deployers(ASKS_PASSWORD),
         _deployed("order_d"), aged=True),
    Post("/orders/{D}/services/deploy/ signed in long ago, with the password",
         deployers(DEPLOY_DONE), _deployed("order_d"), lambda w: {"password": PASSWORD},
         aged=True),
    Post("/orders/{C}/services/subscription/", nobody_signed_in_may(404), _subscription("order_c")),
    # Requests to join: an administrator of the organisation, from the requests page; the
    # emailed approve/decline link decides for the administrator it was sent to, whoever opens it.
    Post("/my/organisation/requests/ approve",
         [L, Done(302, to="/my/organisation/requests/"), 404, 404, 404, 404, L, L, L, L, 404,
          404, 404, 404],
         _join_status, lambda w: {"request": w.join_request.pk, "decision": "approve"}),
    Post("/join-requests/{J}/ approve", row(Done(200, has="Approved on")), _join_status,
         lambda w: {"decision": "approve"}),
    Post("/join-requests/1-1-not-a-token/ approve", row(404), _join_status,
         lambda w: {"decision": "approve"}),
    # An invitation: its emailed link proves the invitee's mailbox; accepting signs the browser
    # in as the invitee, whoever was signed in before.
    Post("/invitations/{I}/ accept with a password",
         row(Done(302, to="/my/orders/", signs_in=True)), _invitations, PASSWORD_FORM),
    Post("/invitations/1-not-a-token/ accept", row(404), _invitations, PASSWORD_FORM),
    # The rep dashboard's actions: reps and superusers; a rep of another order may resend, record
    # a contact and re-open, but not point the link elsewhere (README, docs/SECURITY.md).
    Post("/reps/orders/{S}/resend/", reps(Done(302, to="/reps/stalled/"),
                                          Done(302, to="/reps/stalled/")),
         _events("order_s", Event.Kind.RESENT)),
    Post("/reps/orders/{S}/contact/", reps(Done(302, to="/reps/stalled/"), 403), _contact,
         lambda w: {"email": "new-contact@partner.example"}),
    Post("/reps/orders/{S}/contacted/", reps(Done(302, to="/reps/stalled/"),
                                             Done(302, to="/reps/stalled/")),
         _events("order_s", Event.Kind.CONTACTED), lambda w: {"note": "Called the partner."}),
    Post("/reps/orders/{X}/reopen/", reps(Done(302, to="/reps/stalled/"),
                                          Done(302, to="/reps/stalled/")),
         _events("order_x", Event.Kind.REOPENED)),
    # Staff who left their browser longer than STAFF_IDLE_TIMEOUT are signed out, and their POST
    # is not carried out; partners keep their session.
    Post("/reps/orders/{S}/contact/ after the staff idle timeout",
         reps(IDLE_OUT, IDLE_OUT)[:4] + [IDLE_OUT] + reps(IDLE_OUT, IDLE_OUT)[5:], _contact,
         lambda w: {"email": "new-contact@partner.example"}, idle=True),
    Post("/admin/orders/order/ action: resend, after the staff idle timeout",
         admin_staff(IDLE_OUT, IDLE_OUT, IDLE_OUT), _events("order_s", Event.Kind.RESENT),
         lambda w: {"action": "resend_deployment_email", "_selected_action": [w.order_s.pk],
                    "post": "yes"}, idle=True),
    Post("/orders/{D}/services/deploy/ after the staff idle timeout",
         deployers(DEPLOY_DONE, staff=IDLE_OUT), _deployed("order_d"), idle=True),
    # The same in admin (the order list's actions), and the order's change form.
    Post("/admin/orders/order/ action: change the deployment contact",
         admin_staff(Done(302, to="/admin/orders/order/"), 403,
                     Done(302, to="/admin/orders/order/"),
                     other_rep=Answer(302, to="/admin/orders/order/")),  # refused with a message
         _contact,
         lambda w: {"action": "change_deployment_contact", "_selected_action": [w.order_s.pk],
                    "post": "yes", "email": "new-contact@partner.example"}),
    Post("/admin/orders/order/ action: resend the deployment email",
         admin_staff(Done(302, to="/admin/orders/order/"), 403,
                     Done(302, to="/admin/orders/order/")),
         _events("order_s", Event.Kind.RESENT),
         lambda w: {"action": "resend_deployment_email", "_selected_action": [w.order_s.pk],
                    "post": "yes"}),
    Post("/admin/orders/order/{Apk}/change/", admin_staff(403, 403, Done(302)),
         lambda w: Order.objects.get(pk=w.order_a.pk).language, _admin_change),
]
POST_IDS = [p.url for p in POSTS]


def _post(world, post, role):
    """POST `post` as `role`: (response, whether the watched state changed, who was signed in
    before and after)."""
    client = world.client(role)
    path = world.url(post.url.split(" ")[0])
    data = post.data(world)
    if post.aged:
        world.age_sign_in(role)
    if post.idle:
        world.leave_idle(role)
    before, who = post.watch(world), signed_in_as(client)
    response = client.post(path, data)
    changed, who_after = post.watch(world) != before, signed_in_as(client)
    if post.aged:
        world.age_sign_in(role, by=0)  # as it was, for the next row
    if post.idle and who_after != who:
        world.forget(role)  # signed out: the next row signs in again
    return response, changed, who, who_after


def _cell_problems(world, post, role, want):
    response, changed, who_before, who_after = _post(world, post, role)
    found = want.problems(world, response, changed)
    found += security_header_problems(response)
    if want.signs_out:
        if who_after is not None:
            found.append("the browser is still signed in")
    elif not want.signs_in and who_after != who_before:
        found.append(f"the browser is now signed in as user {who_after} (was {who_before})")
    if want.signs_in and who_after in (None, who_before):
        found.append("the browser is not signed in as the new user")
    return found


def _cells(kind):
    """(post, role, expectation) of the cells of POSTS of one kind:
    - "done": the POST is carried out, in a world of its own;
    - "step": a wizard step answers and moves this browser's wizard on (its session changes),
      in a world of its own too;
    - "stateless": refused, or answered without changing anything (data or session): all of
      them share one world, which each leaves as it found it (asserted)."""
    for post in POSTS:
        assert len(post.expected) == len(ROLES), post.url
        for role, want in zip(ROLES, post.expected):
            want = expectation(want)
            cell_kind = "done" if want.done else "step" if isinstance(want, Step) else "stateless"
            if cell_kind == kind:
                yield post, role, want


def _ids(cells):
    return [f"{post.url} as {role}" for post, role, _want in cells]


def test_every_post_refused_or_answered_without_effect_as_the_trust_model_says():
    world = World()
    wrong, cells = [], 0
    for post, role, want in _cells("stateless"):
        cells += 1
        wrong += [f"POST {post.url} as {role}: {p}" for p in _cell_problems(world, post, role, want)]
    assert wrong == [], "\n".join(wrong)
    assert cells > 300


@pytest.mark.parametrize("post,role,want", list(_cells("step")), ids=_ids(_cells("step")))
def test_each_wizard_step_posted_by_a_link_holder_answers_as_the_trust_model_says(post, role, want):
    assert _cell_problems(World(), post, role, want) == []


@pytest.mark.parametrize("post,role,want", list(_cells("done")), ids=_ids(_cells("done")))
def test_each_post_allowed_by_the_trust_model_is_carried_out(post, role, want):
    assert _cell_problems(World(), post, role, want) == []


def _csrf_actor(post):
    """Who POSTs without a token: someone whose POST would be carried out if any, else someone
    not refused by the page itself, so that the 403 can only be the CSRF check's."""
    wants = [expectation(w) for w in post.expected]
    for pick in (lambda w: w.done, lambda w: w.status not in (403,)):
        for role, want in zip(ROLES, wants):
            if pick(want):
                return role
    return "anonymous"


@pytest.mark.parametrize("post", POSTS, ids=POST_IDS)
def test_each_form_of_the_matrix_posted_without_its_csrf_token_is_a_csrf_failure(post):
    world = World()
    role = _csrf_actor(post)
    world.client(role).handler.enforce_csrf_checks = True
    response, changed, who_before, who_after = _post(world, post, role)
    assert is_csrf_failure(response), (post.url, role, response.status_code)
    assert "Reload the page" in response.content.decode()
    assert security_header_problems(response) == []
    assert (changed, who_after) == (False, who_before), (post.url, role)


def test_the_matrix_size_is_recorded():
    get_cells = len(MATRIX) * len(ROLES)
    post_cells = len(POSTS) * len(ROLES)
    figures.record("access_matrix_posts", {
        "people": len(ROLES), "get_pages": len(MATRIX), "post_forms": len(POSTS),
        "get_cells": get_cells, "post_cells": post_cells, "cells": get_cells + post_cells,
        "post_cells_carried_out": len(list(_cells("done"))),
        "csrf_checked_forms": len(POSTS)})


# --- The admin, model by model ------------------------------------------------------------------

# Admin pages that refuse adding to everyone, superusers included: the rows come from the product.
NO_ADD_PAGE = {
    "orders.order": "orders arrive through import_orders or POST /api/orders",
    "provisioning.provisioning": "created with its order",
    "provisioning.event": "history, written by the product only",
    "provisioning.setuplink": "issued by the product only",
    "provisioning.outboundemail": "the outbox, written by the product only",
    "provisioning.bouncedaddress": "held by the provider's webhook, cleared by a rep's resend",
    "provisioning.deliveryevent": "the provider's webhook events, written by the product only",
    "provisioning.billingperiod": "started by Deploy only",
    "orgs.joinrequest": "asked from the wizard by a proven address only",
    "orgs.invitation": "sent by the product to the administrator a Confirm named",
    "axes.accessattempt": "django-axes records failed sign-ins itself (an admin may delete one)",
    "axes.accesslog": "django-axes' own log",
    "axes.accessfailurelog": "django-axes' own log",
}
REPS = {"rep", "other_rep"}


def _rep_permissions():
    # What the reps' group is meant to hold, as its migration states it.
    return set(importlib.import_module("orgs.migrations.0002_reps_group").PERMS)


def _expected_admin(role, model, page):
    app, name = model._meta.app_label, model._meta.model_name
    if role not in REPS | {"staff", "superuser"}:
        return ADMIN_LOGIN
    if page == "add" and model._meta.label_lower in NO_ADD_PAGE:
        return 403
    if role == "superuser":
        return 200
    if role == "staff":
        return 403
    granted = _rep_permissions()
    wanted = {"changelist": [f"view_{name}", f"change_{name}"], "add": [f"add_{name}"]}[page]
    return 200 if any((app, codename) in granted for codename in wanted) else 403


def test_every_admin_list_and_add_page_answers_each_person_as_their_permissions_allow():
    world = World()
    wrong, cells = [], 0
    for model in admin.site._registry:
        app, name = model._meta.app_label, model._meta.model_name
        for page in ("changelist", "add"):
            url = f"/admin/{app}/{name}/" + ("add/" if page == "add" else "")
            for role in ROLES:
                response = world.client(role).get(url)
                want = _expected_admin(role, model, page)
                cells += 1
                wrong += [f"{url} as {role}: {p}" for p in
                          Answer(want).problems(world, response, changed=False)]
                wrong += [f"{url} as {role}: {p}" for p in security_header_problems(response)]
    assert wrong == [], "\n".join(wrong)
    figures.record("access_matrix_admin_sweep", {"models": len(admin.site._registry), "cells": cells})


def test_no_url_is_left_out_of_the_matrix():
    """A new page must say who may open it: every named route is in MATRIX or POSTS (or covered
    by another test named here)."""
    from tests.reliability.test_security import every_url

    elsewhere = {
        # Covered by the wizard's link tests (a token, not a person, decides).
        "onboarding:setup_link",
        # Sign-in flow pages that need a token or only answer after a POST.
        "logout", "password_reset_done", "password_reset_confirm", "password_reset_complete",
        "password_change", "password_change_done", "set_language",
    }
    covered = {u.rpartition(" ")[2].split("?")[0] for u in MATRIX} | \
              {p.url.split(" ")[0] for p in POSTS}
    missing = []
    for name, url in every_url().items():
        if name.startswith("admin:") or name in elsewhere or name.split(":")[-1] in elsewhere:
            continue
        if not any(_same_shape(url, c) for c in covered):
            missing.append((name, url))
    assert missing == [], missing


def _same_shape(url, pattern):
    a, b = url.strip("/").split("/"), pattern.strip("/").split("/")
    wild = ("1", "x", "abc-def")  # the sample values every_url() put in place of parameters
    return len(a) == len(b) and all(x == y or y.startswith("{") or x in wild for x, y in zip(a, b))


def test_a_partner_editing_ids_never_reaches_another_partners_or_a_customer_led_order():
    world = World()
    outsider = world.client("other_partner")
    theirs = world.order_a
    for url in [f"/orders/{theirs.number}/services/{s}/" for s in
                ("subscription", "calling", "meetings", "enterprise", "deploy")] + \
               [f"/orders/{theirs.number}/services/", f"/orders/{theirs.number}/services/deployed/"]:
        assert outsider.get(url).status_code == 404, url
        # 405 on the read-only pages: answered before the order is even looked up.
        assert outsider.post(url, {"save": "1", "subdomain": "stolen"}).status_code in (404, 405), url
    assert Organization.objects.filter(subdomain="stolen").count() == 0
    assert theirs.number not in outsider.get("/my/orders/").content.decode()
    partner = world.client("partner_admin")
    led = world.order_c
    assert partner.post(f"/orders/{led.number}/services/deploy/").status_code == 404
    assert led.number not in partner.get("/my/orders/").content.decode()
