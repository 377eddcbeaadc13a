"""State changes of organisations, users and memberships. Callers hold the transaction: these
functions are building blocks of onboarding.services.complete_setup and friends."""
from django.db import IntegrityError, transaction

from orgs.models import Membership, Organization, User, normalise_email


class OrgConflict(Exception):
    """A uniqueness rule refused the write (someone else created the same thing meanwhile)."""


def create_org(kind, external_id, name, country, address="", city="", postal_code="",
               managed_by=None):
    try:
        with transaction.atomic():
            return Organization.objects.create(
                kind=kind, external_id=external_id, name=name, country=country.upper(),
                address=address, city=city, postal_code=postal_code, managed_by=managed_by)
    except IntegrityError as exc:
        raise OrgConflict(f"{kind} {external_id}") from exc


def ensure_member(email, organization, role, full_name=""):
    """The user with `email` (created without a usable password if new) as a member of
    `organization`. Returns (user, created). Raises OrgConflict when the user belongs to
    another organisation: one user, one organisation."""
    email = normalise_email(email)
    user = User.objects.select_related("membership").filter(email__iexact=email).first()
    created = False
    if user is None:
        try:
            with transaction.atomic():
                user = User(email=email, full_name=full_name)
                user.set_unusable_password()
                user.save()
        except IntegrityError as exc:
            raise OrgConflict(email) from exc
        created = True
    elif full_name and not user.full_name:
        user.full_name = full_name
        user.save(update_fields=["full_name"])
    membership = getattr(user, "membership", None) if not created else None
    if membership is None:
        try:
            with transaction.atomic():
                Membership.objects.create(user=user, organization=organization, role=role)
        except IntegrityError as exc:
            raise OrgConflict(email) from exc
    elif membership.organization_id != organization.pk:
        raise OrgConflict(email)
    return user, created
