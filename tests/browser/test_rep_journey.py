"""Journey 8: an account representative's day with a stalled order: the account the import made
for them activated by an administrator, their password chosen through "Forgot your password?",
the stall email, the dashboard, marking the partner contacted, resending the deployment email."""
import datetime

import pytest

from orgs.models import User
from provisioning import jobs
from provisioning.models import Event, Provisioning
from tests.browser.conftest import (a_day_after_the_email, email_to, import_order, link_in_email,
                                    send_deployment_emails)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REP = "rachel.rep@vendor.example"
REP_PASSWORD = "Rep-Password-2026!"
ADMIN_PASSWORD = "Admin-Password-2026!"
CONTACT = "webex-deploy@partner.example"


def rendered_lines(locator):
    """The text of an element as the browser laid it out, one string per line."""
    return locator.evaluate("""el => {
        const lines = [];
        let top = null;
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (let i = 0; i < node.length; i++) {
                const range = document.createRange();
                range.setStart(node, i);
                range.setEnd(node, i + 1);
                const box = range.getBoundingClientRect();
                if (!box.width) continue;
                if (top === null || Math.abs(box.top - top) > box.height / 2) { lines.push(""); top = box.top; }
                lines[lines.length - 1] += node.data[i];
            }
        }
        return lines;
    }""")


def activate_in_admin(admin, email):
    """An administrator activates `email`'s account from Admin → Users, filtered on inactive
    accounts, with the "Activate the selected accounts" action."""
    User.objects.create_superuser("ada.admin@vendor.example", ADMIN_PASSWORD)
    admin.open("/admin/")
    admin.visit("admin-sign-in", axe=False)  # Django's own admin pages: not ours to audit
    admin.page.get_by_label("Email address").fill("ada.admin@vendor.example")
    admin.page.get_by_label("Password").fill(ADMIN_PASSWORD)
    admin.press("Log in")
    admin.open("/admin/orgs/user/?is_active__exact=0")
    admin.visit("inactive-accounts", axe=False)
    row = admin.page.get_by_role("row").filter(has_text=email)
    assert "Inactive: cannot sign in until activated" in row.inner_text()
    row.get_by_role("checkbox").check()
    admin.page.locator("select[name=action]").select_option(label="Activate the selected accounts")
    admin.press("Go")
    admin.visit("activated", axe=False)
    assert "1 account activated" in admin.page.locator(".messagelist").inner_text()


def test_a_rep_sees_the_stalled_order_marks_it_contacted_and_resends_the_email(journey):
    start = datetime.date.today() - datetime.timedelta(days=2)
    order = import_order("CCW-30001", requested_start_date=start.isoformat())
    send_deployment_emails(order)
    first_link = link_in_email(email_to(CONTACT, order.number))
    jobs.flag_stalled_provisioning(now=a_day_after_the_email(order))
    stall_email = email_to(REP, "stalled")
    assert order.number in stall_email.body
    # The import made the rep's account: inactive, with no password (whoever sends orders names
    # the rep). An administrator activates it in admin; the rep then chooses a password through
    # "Forgot your password?".
    rep = User.objects.get(email=REP)
    assert not rep.is_active and not rep.has_usable_password()
    activate_in_admin(journey("rep-activated-by-an-administrator"), REP)
    rep.refresh_from_db()
    assert rep.is_active

    j = journey("rep-dashboard")
    j.open("/accounts/login/")
    j.follow(j.link("Forgot your password?"))
    j.visit("forgot-password")
    j.page.get_by_label("Email").fill(REP)
    j.press("Send the link")
    j.visit("check-your-email")
    j.open(link_in_email(email_to(REP, "Reset your Webex onboarding password"),
                         path="/accounts/reset/"))
    j.visit("choose-password")
    j.page.get_by_label("New password", exact=True).fill(REP_PASSWORD)
    j.page.get_by_label("New password confirmation").fill(REP_PASSWORD)
    j.press("Change my password")
    j.visit("password-chosen")
    j.sign_in(REP, REP_PASSWORD)
    j.follow(j.link("Stalled orders"))
    j.visit("stalled-orders")
    assert j.heading() == "Stalled orders"
    row = j.page.get_by_role("row").filter(has_text=order.number)
    assert row.count() == 1
    assert "Boulangerie Martin" in row.inner_text()
    assert j.page.url.endswith("/reps/stalled/")
    assert "/reps/stalled/" in stall_email.body
    # On a narrow window the contact's address wraps, if at all, after its @, never at its hyphen.
    j.page.set_viewport_size({"width": 1024, "height": 800})
    assert rendered_lines(row.locator("td.email")) in (
        ["webex-deploy@partner.example"], ["webex-deploy@", "partner.example"])
    j.page.set_viewport_size({"width": 1280, "height": 800})

    j.follow(row.get_by_role("link", name="Mark contacted"))
    j.visit("mark-contacted")
    j.page.get_by_label("Note").fill("Called Inès: she will set it up this afternoon.")
    j.press("Record the contact")
    j.visit("contacted-recorded")
    assert j.page.get_by_role("status").filter(has_text=order.number).is_visible()
    assert Event.objects.filter(order=order, kind=Event.Kind.CONTACTED).count() == 1
    assert Provisioning.objects.get(pk=order.pk).last_contacted_at is not None

    j.follow(j.page.get_by_role("row").filter(has_text=order.number).get_by_role("link", name="Resend"))
    j.visit("resend-confirm")
    j.press("Resend the email")
    j.visit("resent")
    assert "is on its way to webex-deploy@partner.example" in j.page.get_by_role("status").inner_text()

    new_link = link_in_email(email_to(CONTACT, order.number))
    assert new_link != first_link
    partner = journey("rep-dashboard-partner-links")
    partner.open(first_link)
    partner.visit("old-link-superseded")
    assert partner.heading() == "A newer setup link was sent"
    partner.open(new_link)
    partner.visit("new-link-opens-the-wizard")
    assert partner.heading() == "Who is setting up this order?"


def test_the_waiting_for_approval_tag_stays_in_its_cell(journey):
    from onboarding import memberships
    from provisioning.models import SetupLink
    from tests.factories import PartnerOrgFactory, MembershipFactory

    partner = PartnerOrgFactory(external_id="PTN-4411", name="Réseaux Alpins SARL")
    MembershipFactory(organization=partner, user__email="alice.admin@partner.example")
    start = datetime.date.today() - datetime.timedelta(days=2)
    order = import_order("CCW-30002", requested_start_date=start.isoformat())
    send_deployment_emails(order)
    jobs.flag_stalled_provisioning(now=a_day_after_the_email(order))
    memberships.request_to_join(order, partner, "ines.installer@partner.example", "Inès",
                                SetupLink.objects.get(order=order, superseded_at__isnull=True))
    User.objects.filter(email=REP).update(is_active=True)
    rep = User.objects.get(email=REP)
    rep.set_password(REP_PASSWORD)
    rep.save()

    j = journey("rep-waiting-for-approval-tag")
    j.sign_in(REP, REP_PASSWORD)
    j.open("/reps/stalled/?setup=waiting_approval")
    j.visit("waiting-for-approval")
    tag = j.page.locator("table.stalled tbody tr").first.locator(".tag.warn")
    cell = tag.locator("xpath=ancestor::td[1]")
    assert tag.bounding_box()["x"] + tag.bounding_box()["width"] <= \
        cell.bounding_box()["x"] + cell.bounding_box()["width"] + 1, \
        "the tag overflows its cell into the next column"
