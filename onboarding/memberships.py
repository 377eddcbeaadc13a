"""Joining an organisation, never by a typed address alone (docs/SECURITY.md):

- a request to join an existing partner organisation, from an address the wizard proved, that one
  of its administrators approves or declines (from their email, or from their requests page);
- an invitation to administer a customer organisation, which its recipient accepts from the
  emailed link, choosing a password: that proves the mailbox before the membership exists.

The tokens of these links are derived from a nonce and SECRET_KEY when the email is sent
(provisioning/tokens.py); the database never holds them.
"""
import datetime

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from config.db import returning_rows
from orgs import services as orgs_services
from orgs.models import Invitation, JoinRequest, Membership, User, normalise_email
from provisioning import outbox, tokens
from provisioning.models import Event, OutboundEmail

JOIN_PURPOSE = "join-request"
INVITATION_PURPOSE = "invitation"
INVITATION_LIFETIME = datetime.timedelta(days=14)


class AlreadyAnswered(Exception):
    """The request was approved or declined already, or the invitation accepted."""


def _site(path):
    return settings.SITE_URL + path


# --- Secrets: derived when the email is sent ----------------------------------------------------

def join_token(join_request, admin_id):
    digest = tokens.derive(JOIN_PURPOSE, f"{join_request.nonce}:{admin_id}")
    return f"{join_request.pk}-{admin_id}-{digest}"


@outbox.register_secret("join_decision")
def _join_url(ref):
    request_id, admin_id = ref
    join_request = JoinRequest.objects.get(pk=request_id)
    return _site(reverse("onboarding:join_decision", args=[join_token(join_request, admin_id)]))


def invitation_token(invitation):
    return f"{invitation.pk}-{tokens.derive(INVITATION_PURPOSE, invitation.nonce)}"


@outbox.register_secret("invitation")
def _invitation_url(invitation_id):
    invitation = Invitation.objects.get(pk=invitation_id)
    return _site(reverse("onboarding:invitation", args=[invitation_token(invitation)]))


@outbox.register_secret("password_link")
def password_link(user_id):
    """A single-use link to choose a password (Django's password reset token, made when sent:
    it stops working once the password changes)."""
    user = User.objects.get(pk=user_id)
    return _site(reverse("password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user)}))


def email_password_link(user, order):
    """The new administrator chose to set their password later: a single-use link to do it,
    emailed to their proven address (made when sent; it dies once the password is set)."""
    with transaction.atomic():
        outbox.enqueue(OutboundEmail.Kind.PASSWORD, user.email, "password-link",
                       {"order": order, "user": user}, order.language, order,
                       secrets={"url": ("password_link", user.pk)})


def _split(token, parts):
    pieces = (token or "").split("-", parts - 1)
    if len(pieces) != parts or not all(p.isdigit() for p in pieces[:-1]) or len(token) > 200:
        return None
    return pieces


def find_join_request(token):
    """(join request, the administrator whose email held this token) or (None, None)."""
    pieces = _split(token, 3)
    if pieces is None:
        return None, None
    join_request = JoinRequest.objects.select_related("organization", "order").filter(
        pk=int(pieces[0])).first()
    if join_request is None or not tokens.same(join_token(join_request, int(pieces[1])), token):
        return None, None
    admin = User.objects.filter(pk=int(pieces[1]), is_active=True,
                                membership__organization=join_request.organization,
                                membership__role=Membership.Role.ADMIN).first()
    return (join_request, admin) if admin is not None else (None, None)


def find_invitation(token):
    pieces = _split(token, 2)
    if pieces is None:
        return None
    invitation = Invitation.objects.select_related("organization", "order").filter(
        pk=int(pieces[0])).first()
    if invitation is None or not tokens.same(invitation_token(invitation), token):
        return None
    return invitation


# --- Requests to join a partner organisation ----------------------------------------------------

def admins_of(org):
    return list(User.objects.filter(membership__organization=org, is_active=True,
                                    membership__role=Membership.Role.ADMIN).order_by("pk"))


@transaction.atomic
def request_to_join(order, org, email, full_name, asked_by_link):
    """A proven address asks to join `org` to set up `order`. Each of its administrators is
    emailed an approve/decline link; with none, the order's account rep is. Asking again while
    waiting changes nothing. Returns (join request, created)."""
    email = normalise_email(email)
    pending = JoinRequest.objects.filter(organization=org, email__iexact=email,
                                         status=JoinRequest.Status.PENDING).first()
    if pending is not None:
        return pending, False
    try:
        with transaction.atomic():
            join_request = JoinRequest.objects.create(
                organization=org, email=email, full_name=full_name, order=order,
                nonce=tokens.new_nonce())
    except IntegrityError:  # the same request, from another tab, a moment ago
        return JoinRequest.objects.get(organization=org, email__iexact=email,
                                       status=JoinRequest.Status.PENDING), False
    context = {"join_request": join_request, "org": org, "order": order,
               "requests_url": _site(reverse("onboarding:join_requests"))}
    admins = admins_of(org)
    for admin in admins:
        outbox.enqueue(OutboundEmail.Kind.JOIN_REQUEST, admin.email, "join-request",
                       {**context, "to_rep": False}, admin.language, order,
                       secrets={"url": ("join_decision", [join_request.pk, admin.pk])})
    if not admins:
        rep = order.account_rep
        outbox.enqueue(OutboundEmail.Kind.JOIN_REQUEST, rep.email, "join-request",
                       {**context, "to_rep": True,
                        "admin_url": _site(f"/admin/orgs/joinrequest/{join_request.pk}/change/")},
                       rep.language, order)
    Event.objects.create(order=order, kind=Event.Kind.JOIN_REQUESTED,
                         data={"email": email, "organisation": org.name, "org_id": org.pk,
                               "asked_with_link_to": asked_by_link.recipient_email,
                               "admins_told": len(admins)})
    return join_request, True


@transaction.atomic
def decide_join(join_request, approve, by):
    """An administrator's answer. Approving makes the address a member (created without a
    password if new: the email to them carries a single-use link to choose one). Once only."""
    join_request = JoinRequest.objects.select_for_update().get(pk=join_request.pk)
    if join_request.status != JoinRequest.Status.PENDING:
        raise AlreadyAnswered()
    user, conflict = None, False
    if approve:
        try:
            user, _created = orgs_services.ensure_member(
                join_request.email, join_request.organization, Membership.Role.MEMBER,
                join_request.full_name)
        except orgs_services.OrgConflict:
            conflict = True  # the address joined another organisation meanwhile
    approved = approve and not conflict
    join_request.status = JoinRequest.Status.APPROVED if approved else JoinRequest.Status.DECLINED
    join_request.decided_at = timezone.now()
    join_request.decided_by = by
    join_request.save(update_fields=["status", "decided_at", "decided_by"])
    order = join_request.order
    secrets = {}
    if approved and not user.has_usable_password():
        secrets["password_url"] = ("password_link", user.pk)
    if order is not None:
        Event.objects.create(order=order, kind=Event.Kind.JOIN_DECIDED, actor=by,
                             data={"email": join_request.email, "approved": approved,
                                   "in_another_org": conflict})
    outbox.enqueue(OutboundEmail.Kind.JOIN_DECIDED, join_request.email, "join-decided",
                   {"join_request": join_request, "org": join_request.organization,
                    "order": order, "approved": approved, "in_another_org": conflict,
                    "decided_by": by, "login_url": _site(reverse("login"))},
                   order.language if order else settings.LANGUAGE_CODE, order, secrets=secrets)
    return join_request


def pending_requests_for(admin):
    membership = getattr(admin, "membership", None)
    if membership is None or membership.role != Membership.Role.ADMIN:
        return JoinRequest.objects.none()
    return (JoinRequest.objects.filter(organization_id=membership.organization_id,
                                       status=JoinRequest.Status.PENDING)
            .select_related("order").order_by("created_at"))


# --- Invitations to administer a customer organisation ------------------------------------------

@transaction.atomic
def invite_admin(order, org, email, invited_by=None, by_email=""):
    """The customer administrator the partner named: invited, not yet a member."""
    email = normalise_email(email)
    invitation = Invitation.objects.create(
        organization=org, email=email, role=Membership.Role.ADMIN, order=order,
        invited_by=invited_by, nonce=tokens.new_nonce(),
        expires_at=timezone.now() + INVITATION_LIFETIME)
    outbox.enqueue(OutboundEmail.Kind.INVITATION, email, "invitation",
                   {"invitation": invitation, "org": org, "order": order,
                    "invited_by": by_email, "expires_at": invitation.expires_at},
                   order.language, order, secrets={"url": ("invitation", invitation.pk)})
    Event.objects.create(order=order, kind=Event.Kind.ADMIN_INVITED, actor=invited_by,
                         data={"email": email, "organisation": org.name, "org_id": org.pk})
    return invitation


def invitation_problem(invitation):
    if invitation is None:
        return "unknown"
    if invitation.accepted_at is not None:
        return "accepted"
    if timezone.now() > invitation.expires_at:
        return "expired"
    return None


@transaction.atomic
def accept_invitation(invitation, password=None):
    """The invited address opened its link: it becomes a member with the invitation's role
    (and, if new, a user with the password chosen). Returns the user. Raises AlreadyAnswered,
    or orgs_services.OrgConflict when the address belongs to another organisation."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise AlreadyAnswered()
    user, _created = orgs_services.ensure_member(invitation.email, invitation.organization,
                                                 invitation.role)
    if password is not None:
        user.set_password(password)
        user.save(update_fields=["password"])
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return user


def pending_invitation_email(order):
    """The address of the order's invitation not yet accepted, or None."""
    # Asked on every view of the done page: written by hand, as compiling it cost more than
    # running it (bench/RESULTS.md).
    rows = returning_rows(f"SELECT email FROM {Invitation._meta.db_table} WHERE order_id = %s "
                          "AND accepted_at IS NULL ORDER BY id LIMIT 1", [order.pk])
    return rows[0][0] if rows else None
