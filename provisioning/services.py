"""The account representative's actions on an order's deployment email: resend it, send it to
another contact, re-open a closed order. Their state changes are the lifecycle's
(provisioning/lifecycle.py); the email is written to the outbox in the action's transaction
and a worker sends it after commit (provisioning/deployment_email.py)."""
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order, OrderLine
from orgs.models import normalise_email
from provisioning import delivery, deployment_email, lifecycle, links, outbox
from provisioning.models import Event, OutboundEmail, Provisioning, SetupLink


class NotAllowed(Exception):
    """A state change refused for a reason the person who asked should read."""


class NotYours(NotAllowed):
    """Refused because of who asked, not because of the order's state."""


def may_change_contact(user, order):
    """Superusers change any order's deployment contact; a rep only the orders they are the
    account representative of (pointing someone else's order at one's own mailbox would hand
    its setup link over)."""
    return user.is_superuser or order.account_rep_id == user.pk


def check_may_change_contact(user, order):
    if user is not None and not may_change_contact(user, order):
        raise NotYours(_("Only the account representative of order %(number)s, or an administrator, "
                         "may change its deployment contact.") % {"number": order.number})


def check_email_can_change(provisioning, now):
    if provisioning.set_up_at is not None or provisioning.deployed_at is not None:
        raise NotAllowed(_("Order %(number)s is already set up: its deployment email can no longer "
                           "be resent or sent to another contact.")
                         % {"number": provisioning.order.number})
    if lifecycle.window_closed(provisioning, now):
        raise NotAllowed(_("The setup window of order %(number)s is closed: re-open it first.")
                         % {"number": provisioning.order.number})


def not_closed(order):
    """The refusal to re-open an order whose setup window is open, worded once for the service,
    the rep's page and the admin action."""
    return _("Order %(number)s is not closed: there is nothing to re-open.") % {"number": order.number}


def resend_deployment_email(order, actor=None):
    """1. refuse once the order is set up (or closed); 2. record RESENT and take the email over;
    3. write the email to the outbox for a worker; its fresh link replaces the old one once the
    mail server accepted it (provisioning/deployment_email.py).
    An order handed to the customer gets its customer administrator's link again instead: the
    partner never gets back a wizard they handed over. A rep resending to an address that
    bounced vouches for it: emails go to it again (provisioning/delivery.py)."""
    now = timezone.now()
    with transaction.atomic():
        provisioning = Provisioning.objects.select_for_update().select_related("order").get(pk=order.pk)
        check_email_can_change(provisioning, now)
        if provisioning.handed_over_at is not None:
            delivery.forget_bounce(provisioning.customer_admin_email)
            _send_customer_admin_link(provisioning, provisioning.customer_admin_email, actor)
            lifecycle.customer_admin_link_resent(provisioning, actor)
            return deployment_email.SendOutcome(sent=False, queued_to=provisioning.customer_admin_email,
                                                to_customer_admin=True)
        delivery.forget_bounce(provisioning.order.deployment_contact_email)
        lifecycle.take_over_email(provisioning, now, Event.Kind.RESENT, actor,
                                  {"to": provisioning.order.deployment_contact_email})
        return _send_after_commit(provisioning)


def _send_after_commit(provisioning):
    """The order's deployment email, taken over, is written to the outbox in this transaction
    (the caller holds the order's lock) and sent by a worker right after it commits (or by the
    outbox sweep if the broker is down): no person's page waits on the mail server."""
    deployment_email.queue_now(provisioning)
    return deployment_email.SendOutcome(sent=False,
                                        queued_to=provisioning.order.deployment_contact_email)


def _send_customer_admin_link(provisioning, email, actor):
    order = provisioning.order
    links.send_link(OutboundEmail.Kind.CUSTOMER_ADMIN, "customer-admin", order, email,
                    SetupLink.Purpose.CUSTOMER_ADMIN, provisioning.installer_email, actor=actor)


def change_deployment_contact(order, email, apply_to_lines=False, actor=None):
    """Like resend, to a new deployment contact; `apply_to_lines` also sets the contact of every
    line of the order. `actor` must be allowed to (may_change_contact): NotYours otherwise. The
    previous contact gets a notice through the outbox."""
    email = normalise_email(email)
    now = timezone.now()
    with transaction.atomic():
        provisioning = (Provisioning.objects.select_for_update(of=("self", "order"))
                        .select_related("order", "order__account_rep").get(pk=order.pk))
        check_may_change_contact(actor, provisioning.order)
        check_email_can_change(provisioning, now)
        delivery.forget_bounce(email)  # the rep chose this address: emails go to it
        if provisioning.handed_over_at is not None:
            return _change_customer_admin(provisioning, email, actor)
        old = provisioning.order.deployment_contact_email
        # Nobody to tell at an address whose deployment email bounced (nothing goes there).
        old_bounced = lifecycle.is_undelivered(provisioning)
        Order.objects.filter(pk=order.pk).update(deployment_contact_email=email, updated_at=now)
        lines = OrderLine.objects.filter(order_id=order.pk).update(deployment_contact_email=email) \
            if apply_to_lines else 0
        lifecycle.take_over_email(provisioning, now, Event.Kind.CONTACT_CHANGED, actor,
                                  {"from": old, "to": email, "lines_changed": lines})
        if normalise_email(old) != email and not old_bounced:
            # The previous contact learns that their link stopped working and whom to ask: a
            # contact changed by mistake, or by someone who should not have, does not go unseen.
            outbox.enqueue(OutboundEmail.Kind.CONTACT_CHANGED_NOTICE, old, "contact-changed-notice",
                           {"order": provisioning.order, "rep_email": provisioning.order.account_rep.email},
                           language=provisioning.order.language, order=provisioning.order)
        provisioning.order.deployment_contact_email = email
        return _send_after_commit(provisioning)


@dataclass(frozen=True)
class Reopened:
    provisioning: Provisioning
    email: "deployment_email.SendOutcome | None"  # the fresh link's email; None when none was due


def _change_customer_admin(provisioning, email, actor):
    """Change of contact on an order handed to the customer: the customer administrator's
    invitation goes to the new address (the previous one stops working and its holder is told);
    the hand-over stands."""
    old = provisioning.customer_admin_email
    _send_customer_admin_link(provisioning, email, actor)
    lifecycle.customer_admin_changed(provisioning, email, actor)
    if old and normalise_email(old) != email:
        outbox.enqueue(OutboundEmail.Kind.CONTACT_CHANGED_NOTICE, old, "contact-changed-notice",
                       {"order": provisioning.order,
                        "rep_email": provisioning.order.account_rep.email},
                       language=provisioning.order.language, order=provisioning.order)
    return deployment_email.SendOutcome(sent=False, queued_to=email, to_customer_admin=True)


def reopen(order, actor=None):
    """Give a closed order a new setup window of the usual length from now. What the expired-link
    page promises: if its deployment email had gone out, a fresh link is emailed at once and the
    old one stops working (an order already set up keeps its installer's link, which works
    again); an email never sent goes out on the job's next run."""
    now = timezone.now()
    with transaction.atomic():
        provisioning = Provisioning.objects.select_for_update().select_related("order").get(pk=order.pk)
        if not lifecycle.can_reopen(provisioning, now):
            raise NotAllowed(not_closed(provisioning.order))
        new_link = lifecycle.reopen(provisioning, now, actor)
        if new_link:
            delivery.forget_bounce(provisioning.order.deployment_contact_email)
        return Reopened(provisioning,
                        _send_after_commit(provisioning) if new_link else None)
