"""Issue 16's journey: the deployment email goes out through the email provider to a mistyped
address and bounces (Mailgun's signed webhook, posted by the test over HTTP to the live
server); the rep is emailed once, sees it at once on the dashboard's failing panel, changes the
contact from there, and the new contact's Set up now link opens the wizard."""
import json

import pytest
import requests

from orgs.models import User
from provisioning.models import Delivery, OutboundEmail, Provisioning
from tests import esp
from tests.browser.conftest import email_to, import_order, link_in_email, send_deployment_emails

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REP = "rachel.rep@vendor.example"
REP_PASSWORD = "Rep-Password-2026!"
TYPO = "webex-deplyo@partner.example"
CONTACT = "webex-deploy@partner.example"


def post_webhook(site, event):
    """Mailgun posting its signed event to our webhook, as it does: JSON over HTTP."""
    return requests.post(site.url + esp.WEBHOOK, data=json.dumps(event),
                         headers={"Content-Type": "application/json"}, timeout=30)


def test_a_bounced_deployment_email_is_on_the_dashboard_and_a_new_contact_gets_a_working_link(
        journey, site, settings, mailoutbox):
    settings.EMAIL_BACKEND = esp.BACKEND
    order = import_order("CCW-50001", deployment_contact_email=TYPO)
    send_deployment_emails(order)
    first = email_to(TYPO, order.number)
    message_id = first.anymail_status.message_id
    assert Provisioning.objects.get(pk=order.pk).email_message_id == message_id
    User.objects.filter(email=REP).update(is_active=True)
    rep = User.objects.get(email=REP)
    rep.set_password(REP_PASSWORD)
    rep.save()

    # A forged bounce (another key) is refused and changes nothing; Mailgun's own is taken.
    forged = post_webhook(site, esp.signed(esp.bounced(message_id, TYPO), key="guessed"))
    assert forged.status_code == 400
    assert Provisioning.objects.get(pk=order.pk).email_delivery == ""
    bounce = esp.signed(esp.bounced(message_id, TYPO))
    assert post_webhook(site, bounce).status_code == 200
    assert post_webhook(site, bounce).status_code == 200  # Mailgun retrying: changes nothing
    assert Provisioning.objects.get(pk=order.pk).email_delivery == Delivery.BOUNCED

    told = [m for m in mailoutbox if m.to == [REP]]
    assert len(told) == 1 and order.number in told[0].subject
    assert f"/reps/orders/{order.number}/contact/" in told[0].body

    j = journey("rep-changes-a-bounced-contact")
    j.sign_in(REP, REP_PASSWORD)
    j.open("/reps/stalled/")
    j.visit("dashboard-with-the-bounce")
    panel = j.page.locator("section.failing")
    assert "1 deployment email failing" in panel.get_by_role("heading").inner_text()
    row = panel.get_by_role("row").filter(has_text=order.number)
    text = row.inner_text()
    assert TYPO in text and "Bounced" in text and "does not exist" in text
    assert "Not retried: change the contact or resend" in text

    j.follow(row.get_by_role("link", name="Change contact"))
    j.visit("change-contact")
    j.page.get_by_label("New deployment contact email").fill(CONTACT)
    j.press("Change and send the email")
    j.visit("contact-changed")
    assert f"is on its way to {CONTACT}" in j.page.get_by_role("status").inner_text()
    assert j.page.locator("section.failing").count() == 0  # the bounce is cleared

    provisioning = Provisioning.objects.get(pk=order.pk)
    new = email_to(CONTACT, order.number)
    assert provisioning.email_delivery == "" and provisioning.email_message_id == \
        new.anymail_status.message_id != message_id
    # The mistyped address is not told its link stopped working: it bounced, nothing goes there.
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.CONTACT_CHANGED_NOTICE).exists()
    assert [m for m in mailoutbox if m.to == [TYPO]] == [first]

    partner = journey("new-contact-opens-the-wizard")
    partner.open(link_in_email(new))
    partner.visit("wizard")
    assert partner.heading() == "Who is setting up this order?"
