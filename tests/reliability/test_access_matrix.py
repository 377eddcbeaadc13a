"""Item 16: who may open what. Six people × every page (setup pages, the rep dashboard and its
actions, sign-in pages, My orders, service setup, admin, the API) → the expected status, in one
table; the rep dashboard's actions POSTed by each of them; every admin list and add page for each
of them; and ids edited in URLs never reach another partner's or a customer-led org's order."""
import importlib

import pytest
from django.contrib import admin
from django.test import Client

from orgs.models import Organization
from provisioning.models import Event, Provisioning, SetupMode, Status
from tests.factories import OrderFactory, PartnerOrgFactory, RepFactory, UserFactory
from tests.reliability import figures
from tests.reliability.test_security import security_header_problems
from tests.service_helpers import member_of, set_up_order

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "partner_admin", "customer_admin", "rep", "staff", "superuser"]
LOGIN = "login"  # a redirect to the sign-in page

# status per role, in ROLES order. {A} is the partner's set-up order, {S} a stalled order,
# {C} a customer-led order of the same partner, {Apk} the order's primary key in admin.
MATRIX = {
    # Sign-in pages: everyone.
    "/accounts/login/": [200, 200, 200, 200, 200, 200],
    "/accounts/password_reset/": [200, 200, 200, 200, 200, 200],
    "/": [200, 200, 200, 200, 200, 200],
    # Setup pages without a link in the session: nobody, whoever they are.
    "/setup/": [403, 403, 403, 403, 403, 403],
    "/setup/orders/{S}/": [403, 403, 403, 403, 403, 403],
    "/setup/orders/{S}/done/": [403, 403, 403, 403, 403, 403],
    # My orders: signed-in people.
    "/my/orders/": [LOGIN, 200, 200, 200, 200, 200],
    "/healthz": [200, 200, 200, 200, 200, 200],
    # Where the wizard hands over: the session's link decides; without one, My orders or sign in.
    "/services/": [LOGIN, 302, 302, 302, 302, 302],
    # Service setup of the partner's own order: its partner and its customer only.
    "/orders/{A}/services/": [LOGIN, 302, 302, 404, 404, 404],
    "/orders/{A}/services/subscription/": [LOGIN, 200, 200, 404, 404, 404],
    "/orders/{A}/services/deploy/": [LOGIN, 302, 302, 404, 404, 404],  # to the first step not done
    "/orders/{A}/services/deployed/": [LOGIN, 302, 302, 404, 404, 404],
    # A customer-led order: its customer only, never the partner (spec step 5).
    "/orders/{C}/services/subscription/": [LOGIN, 404, 404, 404, 404, 404],
    # An order number that does not exist: the same answers as one you may not see.
    "/orders/CCW-00000000/services/subscription/": [LOGIN, 404, 404, 404, 404, 404],
    # The rep dashboard and its actions: account reps (and superusers).
    "/reps/stalled/": [LOGIN, 403, 403, 200, 403, 200],
    "/reps/stalled/?format=csv": [LOGIN, 403, 403, 200, 403, 200],
    "/reps/orders/{S}/resend/": [LOGIN, 403, 403, 200, 403, 200],
    "/reps/orders/{S}/contact/": [LOGIN, 403, 403, 200, 403, 200],
    "/reps/orders/{S}/contacted/": [LOGIN, 403, 403, 200, 403, 200],
    "/reps/orders/{S}/reopen/": [LOGIN, 403, 403, 200, 403, 200],
    # Admin: staff only; within it, each model only with its permission.
    "/admin/": ["admin-login", "admin-login", "admin-login", 200, 200, 200],
    "/admin/orders/order/": ["admin-login", "admin-login", "admin-login", 200, 403, 200],
    "/admin/orders/order/{Apk}/change/": ["admin-login", "admin-login", "admin-login", 200, 403, 200],
    "/admin/orgs/user/": ["admin-login", "admin-login", "admin-login", 403, 403, 200],
    "/admin/orders/apikey/": ["admin-login", "admin-login", "admin-login", 403, 403, 200],
    "/admin/provisioning/provisioning/": ["admin-login", "admin-login", "admin-login", 200, 403, 200],
    # Requests to join: each organisation's administrators, signed in (others see an empty page).
    "/my/organisation/requests/": [LOGIN, 200, 200, 200, 200, 200],
    # Approve/decline and invitation links: a token, not a person, decides; a made-up one is
    # refused whoever asks (the links' own tests cover valid, used and foreign tokens).
    "/join-requests/1-1-not-a-token/": [404, 404, 404, 404, 404, 404],
    "/invitations/1-not-a-token/": [404, 404, 404, 404, 404, 404],
    # The API takes a bearer key, never a session: a signed-in superuser is still refused.
    "POST /api/orders": [401, 401, 401, 401, 401, 401],
}


@pytest.fixture
def world():
    partner_org = PartnerOrgFactory()
    order = set_up_order(partner_org=partner_org)
    customer_led = set_up_order(partner_org=partner_org, mode=SetupMode.CUSTOMER)
    rep = RepFactory()
    stalled = OrderFactory(account_rep=rep)
    Provisioning.objects.filter(pk=stalled.pk).update(stalled_at="2026-01-02T09:00Z")
    people = {
        "anonymous": None,
        "partner_admin": member_of(partner_org),
        "customer_admin": member_of(order.customer_org),
        "rep": rep,
        "staff": UserFactory(is_staff=True),
        "superuser": UserFactory(is_staff=True, is_superuser=True),
    }
    closed = OrderFactory(account_rep=rep)
    Provisioning.objects.filter(pk=closed.pk).update(status=Status.CLOSED)
    names = {"A": order.number, "C": customer_led.number, "S": stalled.number, "X": closed.number,
             "Apk": order.pk}
    return people, names, {"order": order, "customer_led": customer_led}


def signed_in(people):
    clients = {}
    for role, user in people.items():
        clients[role] = Client()
        if user is not None:
            clients[role].force_login(user)
    return clients


def outcome(response):
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith("/admin/login/"):
            return "admin-login"
        if location.startswith("/accounts/login/"):
            return LOGIN
    return response.status_code


def test_every_person_gets_the_expected_answer_on_every_page(world):
    people, names, _ = world
    clients = signed_in(people)
    wrong, headers_missing = [], []
    cells = 0
    for url, expected in MATRIX.items():
        method, _, path = url.rpartition(" ")
        path = path.format(**names)
        for role, want in zip(ROLES, expected):
            client = clients[role]
            response = client.post(path, "{}", content_type="application/json") if method == "POST" \
                else client.get(path)
            got = outcome(response)
            cells += 1
            headers_missing += [(url, role, p) for p in security_header_problems(response)]
            if want == "any<500":
                if response.status_code >= 500:
                    wrong.append((url, role, want, got))
            elif got != want:
                wrong.append((url, role, want, got))
    assert wrong == [], "\n".join(f"{u} as {r}: expected {w}, got {g}" for u, r, w, g in wrong)
    assert headers_missing == []  # item 17: on every answer, whoever asks
    figures.record("access_matrix", {"people": len(ROLES), "urls": len(MATRIX), "cells": cells})


# The rep dashboard's actions, POSTed as their confirmation pages would: (order, data, the
# history row a POST that is let through writes). Re-open needs a closed order.
REP_ACTIONS = {
    "resend": ("S", {}, Event.Kind.RESENT),
    "contact": ("S", {"email": "new-contact@partner.example"}, Event.Kind.CONTACT_CHANGED),
    "contacted": ("S", {"note": "Called the partner."}, Event.Kind.CONTACTED),
    "reopen": ("X", {}, Event.Kind.REOPENED),
}
POST_BY_ROLE = {"anonymous": LOGIN, "partner_admin": 403, "customer_admin": 403, "staff": 403,
                "rep": "done", "superuser": "done"}


@pytest.mark.parametrize("role", ROLES)
def test_the_rep_actions_by_post_only_for_reps_and_superusers(world, role, mailoutbox):
    people, names, _ = world
    client = signed_in({role: people[role]})[role]
    want = POST_BY_ROLE[role]
    for action, (order_key, data, kind) in REP_ACTIONS.items():
        number = names[order_key]
        before = Event.objects.filter(order__number=number, kind=kind).count()
        response = client.post(f"/reps/orders/{number}/{action}/", data)
        written = Event.objects.filter(order__number=number, kind=kind).count() - before
        assert security_header_problems(response) == [], (action, role)
        if want == "done":
            assert (response.status_code, response["Location"], written) == \
                (302, "/reps/stalled/", 1), (action, role)
        else:
            assert (outcome(response), written) == (want, 0), (action, role)


# Admin pages that refuse adding to everyone, superusers included: the rows come from the product.
NO_ADD_PAGE = {
    "orders.order": "orders arrive through import_orders or POST /api/orders",
    "provisioning.provisioning": "created with its order",
    "provisioning.event": "history, written by the product only",
    "provisioning.setuplink": "issued by the product only",
    "provisioning.outboundemail": "the outbox, written by the product only",
    "provisioning.billingperiod": "started by Deploy only",
    "orgs.joinrequest": "asked from the wizard by a proven address only",
    "orgs.invitation": "sent by the product to the administrator a Confirm named",
    "axes.accessattempt": "django-axes records failed sign-ins itself (an admin may delete one)",
    "axes.accesslog": "django-axes' own log",
    "axes.accessfailurelog": "django-axes' own log",
}


def _rep_permissions():
    # What the reps' group is meant to hold, as its migration states it.
    return set(importlib.import_module("orgs.migrations.0002_reps_group").PERMS)


def _expected_admin(role, model, page):
    app, name = model._meta.app_label, model._meta.model_name
    if role in ("anonymous", "partner_admin", "customer_admin"):
        return "admin-login"
    if page == "add" and model._meta.label_lower in NO_ADD_PAGE:
        return 403
    if role == "superuser":
        return 200
    if role == "staff":
        return 403
    granted = _rep_permissions()
    wanted = {"changelist": [f"view_{name}", f"change_{name}"], "add": [f"add_{name}"]}[page]
    return 200 if any((app, codename) in granted for codename in wanted) else 403


def test_every_admin_list_and_add_page_answers_each_person_as_their_permissions_allow(world):
    people, _, _ = world
    clients = signed_in(people)
    wrong, cells = [], 0
    for model in admin.site._registry:
        app, name = model._meta.app_label, model._meta.model_name
        for page in ("changelist", "add"):
            url = f"/admin/{app}/{name}/" + ("add/" if page == "add" else "")
            for role in ROLES:
                response = clients[role].get(url)
                got, want = outcome(response), _expected_admin(role, model, page)
                cells += 1
                if got != want:
                    wrong.append(f"{url} as {role}: expected {want}, got {got}")
                wrong += [f"{url} as {role}: {p}" for p in security_header_problems(response)]
    assert wrong == [], "\n".join(wrong)
    figures.record("access_matrix_admin_sweep", {"models": len(admin.site._registry), "cells": cells})


def test_no_url_is_left_out_of_the_matrix():
    """A new page must say who may open it: every named route is in MATRIX (or covered by
    another test named here)."""
    from tests.reliability.test_security import every_url

    elsewhere = {
        # Covered by the wizard's link tests (a token, not a person, decides).
        "onboarding:setup_link",
        # Sign-in flow pages that need a token or only answer after a POST.
        "logout", "password_reset_done", "password_reset_confirm", "password_reset_complete",
        "password_change", "password_change_done", "set_language",
    }
    covered = {u.rpartition(" ")[2].split("?")[0] for u in MATRIX}
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


def test_a_partner_editing_ids_never_reaches_another_partners_or_a_customer_led_order(world):
    people, names, orders = world
    other_partner = member_of(PartnerOrgFactory())
    outsider = Client()
    outsider.force_login(other_partner)
    theirs = orders["order"]
    for url in [f"/orders/{theirs.number}/services/{s}/" for s in
                ("subscription", "calling", "meetings", "enterprise", "deploy")] + \
               [f"/orders/{theirs.number}/services/", f"/orders/{theirs.number}/services/deployed/"]:
        assert outsider.get(url).status_code == 404, url
        # 405 on the read-only pages: answered before the order is even looked up.
        assert outsider.post(url, {"save": "1", "subdomain": "stolen"}).status_code in (404, 405), url
    assert Organization.objects.filter(subdomain="stolen").count() == 0
    assert theirs.number not in outsider.get("/my/orders/").content.decode()
    partner = Client()
    partner.force_login(people["partner_admin"])
    led = orders["customer_led"]
    assert partner.post(f"/orders/{led.number}/services/deploy/").status_code == 404
    assert led.number not in partner.get("/my/orders/").content.decode()
