"""A GET never changes data, on any page and for anyone who may open it: mail scanners and
link previews fetch every link they see, browsers prefetch, people reload. Only the session
(which page this browser is on, which link it opened) may be written."""
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from onboarding import memberships
from orgs.models import Invitation, JoinRequest
from provisioning import webex_setup
from provisioning.models import Provisioning
from provisioning.links import issue_link
from tests.factories import MembershipFactory, OrderFactory, PartnerOrgFactory, UserFactory
from tests.service_helpers import configure, set_up_order, sign_in_installer, with_link
from tests.wizard_helpers import (DEFAULT_ANSWERS, done_url, open_link, post_step, setup_url,
                                  walk)

pytestmark = pytest.mark.django_db
WRITE = re.compile(r'^\s*(INSERT|UPDATE|DELETE)\b.*?(?:INTO|UPDATE|FROM)?\s*"(\w+)"', re.S | re.I)
ALLOWED = ("django_session",)


def writes_of(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code < 500, (url, response.status_code)
    found = []
    for query in queries.captured_queries:
        sql = query["sql"]
        if re.match(r"\s*(INSERT|UPDATE|DELETE)\b", sql, re.I):
            table = re.search(r'(?:INTO|UPDATE|FROM)\s+"(\w+)"', sql, re.I)
            if table is None or table.group(1) not in ALLOWED:
                found.append(sql[:120])
    return found


def test_no_page_writes_on_a_get():
    # A partner's first order, walked to each step by one browser (GETs between the POSTs).
    order = OrderFactory()
    wizard = Client()
    raw = issue_link(order, order.deployment_contact_email, "deployment")
    pages = []
    assert not writes_of(wizard, f"/setup/{raw}/")
    for step in ["role", "installer", "partner_org", "customer_admin", "customer_org", "confirm"]:
        walk(wizard, order, until=step)
        pages.append((wizard, setup_url(order)))
    # After Confirm: the done page, and the link again in another browser.
    walk(wizard, order)
    pages += [(wizard, done_url(order)), (wizard, f"/setup/{raw}/"), (wizard, setup_url(order)),
              (Client(), f"/setup/{raw}/")]
    # The invitation the Confirm sent, opened (and fetched by a scanner).
    invitation = Invitation.objects.get()
    pages.append((Client(), f"/invitations/{memberships.invitation_token(invitation)}/"))
    # A request to join waiting for an answer: its approval link and the admins' page.
    partner = PartnerOrgFactory(external_id="PTN-7700")
    admin = UserFactory(email="alice@ptn7700.example")
    MembershipFactory(user=admin, organization=partner, role="admin")
    asking = OrderFactory(partner_external_id="PTN-7700")
    asker = Client()
    open_link(asker, asking)
    walk(asker, asking, {"installer": {**DEFAULT_ANSWERS["installer"],
                                       "email": asking.deployment_contact_email}},
         until="partner_org")
    post_step(asker, asking, "partner_org", ask_to_join="1")
    join_request = JoinRequest.objects.get()
    signed_in_admin = Client()
    signed_in_admin.force_login(admin)
    pages += [(Client(), f"/join-requests/{memberships.join_token(join_request, admin.pk)}/"),
              (signed_in_admin, "/my/organisation/requests/")]
    # The service setup: every step of a configured order, subscription first (its GET used to
    # create the subscription), then the deployed page.
    fresh = set_up_order(["calling", "meetings"])
    member = Client()
    sign_in_installer(member, fresh)
    with_link(member, fresh)
    for step in ["subscription", "calling", "meetings", "enterprise", "deploy"]:
        pages.append((member, f"/orders/{fresh.number}/services/{step}/"))
    pages += [(member, f"/orders/{fresh.number}/services/"), (member, "/services/"),
              (member, "/my/orders/"), (member, "/")]
    done = configure(set_up_order(["calling"]))
    webex_setup.deploy(done)
    deployed = Client()
    sign_in_installer(deployed, done)
    pages.append((deployed, f"/orders/{done.number}/services/deployed/"))
    # The rep's pages: the dashboard, its CSV and each action's confirmation page.
    stalled = OrderFactory()
    Provisioning.objects.filter(pk=stalled.pk).update(stalled_at="2026-01-02T09:00Z")
    rep = Client()
    rep.force_login(stalled.account_rep)
    pages += [(rep, "/reps/stalled/"), (rep, "/reps/stalled/?format=csv")]
    pages += [(rep, f"/reps/orders/{stalled.number}/{action}/")
              for action in ("resend", "contact", "contacted", "reopen")]
    superuser = Client()
    superuser.force_login(UserFactory(is_staff=True, is_superuser=True))
    pages += [(superuser, f"/admin/orders/order/{stalled.pk}/change/"),
              (superuser, "/admin/orgs/joinrequest/"), (superuser, "/admin/orgs/invitation/"),
              (superuser, "/admin/provisioning/outboundemail/")]

    written = {url: w for client, url in pages if (w := writes_of(client, url))}
    assert written == {}
    assert len(pages) >= 30
