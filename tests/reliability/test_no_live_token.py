"""No live token at rest: after a day of every kind of emailed secret (setup links from the job, a
colleague's link, a code, an invitation, approval links, a password reset), none of them is in
any table, in Redis or in the logs. The emails themselves are the only place they exist."""
import datetime
import logging
import re

import pytest
import redis
from django.core import mail
from django.db import connection
from django.test import Client

from provisioning import jobs
from tests.factories import MembershipFactory, OrderFactory, PartnerOrgFactory, UserFactory
from tests.wizard_helpers import (DEFAULT_ANSWERS, INSTALLER_EMAIL, open_link, post_step,
                                  setup_url, walk)

pytestmark = pytest.mark.django_db
LINKS = re.compile(r"https://onboarding\.example/(?:setup|invitations|join-requests|accounts/reset/[\w-]+)/([\w-]{20,})/")
CODE = re.compile(r"^(\d{6})$", re.M)


def due_order(**fields):
    """An order whose deployment email is due now."""
    return OrderFactory(requested_start_date=datetime.date.today() - datetime.timedelta(days=1),
                        **fields)


def deliver_everything():
    jobs.send_due_deployment_emails()
    jobs.send_pending_emails()


def setup_token(order):
    """The token of the latest Set up now email of `order`, as its recipient reads it."""
    bodies = [m.body for m in mail.outbox if order.number in m.subject and "/setup/" in m.body]
    return LINKS.search(bodies[-1]).group(1)


def secrets_emailed():
    tokens, codes = set(), set()
    for message in mail.outbox:
        bodies = [message.body] + [content for content, _type in message.alternatives]
        for body in bodies:
            tokens.update(token for token in LINKS.findall(body))
        if "code" in message.subject.lower():
            codes.update(CODE.findall(message.body))
    return tokens, codes


def every_table_as_text():
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')
            dump.append(f"{table}: {cursor.fetchall()!r}")
    return "\n".join(dump)


def sessions_as_text():
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_data FROM django_session")
        return "\n".join(row[0] for row in cursor.fetchall())


def outbox_as_text():
    with connection.cursor() as cursor:
        cursor.execute("SELECT subject, body_text, body_html, secrets FROM provisioning_outboundemail")
        return repr(cursor.fetchall())


def redis_as_text(url):
    store = redis.Redis.from_url(url)
    values = []
    for key in store.scan_iter():
        values.append(repr(key))
        if store.type(key) == b"string":
            values.append(repr(store.get(key)))
    return "\n".join(values)


def test_no_emailed_secret_is_stored_anywhere(caplog, redis_url):
    caplog.set_level(logging.DEBUG)
    # 1. A first order: the job's link, a code for the installer's own address, Confirm (which
    #    invites the customer administrator), the password.
    first = due_order(language="fr")
    deliver_everything()
    installer = Client()
    open_link(installer, first, raw=setup_token(first))
    walk(installer, first)
    deliver_everything()
    # 2. A colleague is handed another order's setup: their link stays unused.
    second = due_order()
    deliver_everything()
    browser = Client()
    open_link(browser, second, raw=setup_token(second))
    post_step(browser, second, "role", {"role": "partner"})
    post_step(browser, second, "installer", {"choice": "colleague",
                                             "colleague_email": "colin@partner.example"})
    # 3. A third order of a partner that exists: a non-member asks to join; the request waits.
    partner = PartnerOrgFactory(external_id="PTN-5500")
    MembershipFactory(user=UserFactory(email="alice@partner5500.example"), organization=partner,
                      role="admin")
    third = due_order(partner_external_id="PTN-5500")
    deliver_everything()
    asker = Client()
    open_link(asker, third, raw=setup_token(third))
    walk(asker, third, {"installer": {**DEFAULT_ANSWERS["installer"],
                                      "email": third.deployment_contact_email}}, until="partner_org")
    post_step(asker, third, "partner_org", ask_to_join="1")
    # 4. A code asked for and never typed.
    fourth = due_order()
    deliver_everything()
    pending = Client()
    open_link(pending, fourth, raw=setup_token(fourth))
    post_step(pending, fourth, "role", {"role": "partner"})
    post_step(pending, fourth, "installer", {**DEFAULT_ANSWERS["installer"],
                                             "email": "pending@partner.example"})
    # 5. A password reset asked for a member, never used.
    Client().post("/accounts/password_reset/", {"email": INSTALLER_EMAIL})
    deliver_everything()
    # Scanners and tabs fetch the links again: nothing of that is stored either.
    for token in secrets_emailed()[0]:
        Client().get(f"/setup/{token}/")
        Client().get(setup_url(first))

    tokens, codes = secrets_emailed()
    kinds = {m.subject for m in mail.outbox}
    assert len(tokens) >= 7 and len(codes) >= 2, (tokens, codes, kinds)
    at_rest = {"tables": every_table_as_text(), "redis": redis_as_text(redis_url),
               "logs": "\n".join(r.getMessage() for r in caplog.records)}
    found = [(where, token) for where, text in at_rest.items() for token in tokens if token in text]
    assert found == []
    # Codes are short: looked for where a code could be kept (sessions, the outbox, the logs).
    for where, text in {"sessions": sessions_as_text(), "redis": at_rest["redis"],
                        "outbox": outbox_as_text(), "logs": at_rest["logs"]}.items():
        assert not [code for code in codes if re.search(rf"(?<!\d){code}(?!\d)", text)], where
