"""Items 1 and 5, the variants the wizard's and the constraints' tests leave out: 20 Confirm
POSTs from one browser session at once (a double click, tabs of one browser), and a user put
into two organisations by ORM writes that bypass every form, at once from many threads too."""
from collections import Counter

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client

from orgs.models import Invitation, Membership, Organization, User
from provisioning.models import Event, Provisioning
from tests.factories import CustomerOrgFactory, OrderFactory, PartnerOrgFactory, UserFactory
from tests.helpers import at_once
from tests.reliability import figures
from tests.wizard_helpers import (CUSTOMER_ADMIN_EMAIL, INSTALLER_EMAIL, done_url, open_link,
                                  post_step, walk)

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_confirms_from_one_browser_session_set_the_order_up_once():
    order = OrderFactory()
    first = Client()
    open_link(first, order)
    walk(first, order, until="confirm")
    tabs = []
    for _ in range(20):
        tab = Client()
        tab.cookies = first.cookies  # the same browser: one session cookie
        tabs.append(tab)

    results, errors = at_once(lambda i: post_step(tabs[i], order, "confirm"), 20)

    assert errors == []  # no 500
    statuses = Counter(r.status_code for r in results)
    assert set(statuses) <= {200, 302, 409}
    assert any(r.status_code == 302 and r["Location"] == done_url(order) for r in results)
    assert Organization.objects.filter(kind="partner").count() == 1
    assert Organization.objects.filter(kind="customer").count() == 1
    # The installer administers the new partner org; the customer administrator is invited once.
    assert list(User.objects.values_list("email", flat=True).filter(is_staff=False)) == [INSTALLER_EMAIL]
    assert Membership.objects.count() == 1
    assert Invitation.objects.filter(email=CUSTOMER_ADMIN_EMAIL).count() == 1
    assert Event.objects.filter(order=order, kind=Event.Kind.SET_UP).count() == 1
    assert Provisioning.objects.get(pk=order.pk).set_up_at is not None
    figures.record("confirm_same_session_20", {"posts": 20, "server_errors": 0,
                                               "statuses": dict(statuses), "orgs_created": 2})


def test_orm_writes_cannot_put_a_user_in_a_second_organisation():
    user = UserFactory()
    first, second = PartnerOrgFactory(), CustomerOrgFactory()
    Membership.objects.create(user=user, organization=first)
    other = Membership.objects.create(user=UserFactory(), organization=second)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(pk=other.pk).update(user=user)  # re-point another membership
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {Membership._meta.db_table} (user_id, organization_id, role, "
                       "created_at) VALUES (%s, %s, 'admin', now())", [user.pk, second.pk])
    assert Membership.objects.filter(user=user).count() == 1


def test_ten_threads_adding_one_user_to_ten_organisations_leave_one_membership():
    user = UserFactory()
    orgs = [PartnerOrgFactory() for _ in range(10)]

    def join(i):
        try:
            with transaction.atomic():
                Membership.objects.create(user=user, organization=orgs[i])
            return "joined"
        except IntegrityError:
            return "refused"

    results, errors = at_once(join, 10)
    assert errors == []
    assert Counter(results) == {"joined": 1, "refused": 9}
    assert Membership.objects.filter(user=user).count() == 1
