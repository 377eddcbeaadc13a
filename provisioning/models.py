from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orders.models import Service


class Status(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    EMAIL_SENT = "email_sent", _("Email sent")
    SET_UP = "set_up", _("Set up")
    DEPLOYED = "deployed", _("Deployed")
    CLOSED = "closed", _("Closed")


class Delivery(models.TextChoices):
    """What the email provider's tracking webhook said of a sent email (provisioning/delivery.py),
    in rising order of weight: a later, lighter word never replaces a heavier one."""
    DELIVERED = "delivered", _("Delivered")
    COMPLAINED = "complained", _("Reported as spam")
    BOUNCED = "bounced", _("Bounced")
    REJECTED = "rejected", _("Rejected by the provider")


# Hard failures: the address is not emailed again until a rep acts (provisioning/delivery.py).
UNDELIVERED = (Delivery.BOUNCED.value, Delivery.REJECTED.value)


class SetupMode(models.TextChoices):
    SELF = "self", _("The installer did the setup")
    COLLEAGUE = "colleague", _("Handed to a colleague")
    CUSTOMER = "customer", _("The customer did the setup")


class Provisioning(models.Model):
    """One per order: its status plus one timestamp per event a job or a page cares about."""

    order = models.OneToOneField("orders.Order", models.CASCADE, primary_key=True,
                                 related_name="provisioning", verbose_name=_("order"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.SCHEDULED)
    # send_due_deployment_emails: start date at DEPLOYMENT_EMAIL_HOUR, site time zone.
    email_due_at = models.DateTimeField(_("email due"))
    # Due to be written to the outbox from this moment; NULL once written (`outbox_email`), set up
    # or closed. The outbox then owns the sending and its retries.
    email_next_attempt_at = models.DateTimeField(_("next email attempt"), null=True, blank=True)
    # The order's current deployment email in the outbox; its sending, failures and acceptance
    # are mirrored on the columns below (provisioning/deployment_email.py).
    outbox_email = models.ForeignKey("OutboundEmail", models.SET_NULL, null=True, blank=True,
                                     related_name="+", verbose_name=_("deployment email"))
    email_attempts = models.PositiveSmallIntegerField(_("email attempts"), default=0)
    email_last_error = models.TextField(_("last email error"), blank=True)
    email_failed_at = models.DateTimeField(_("email failing since"), null=True, blank=True)
    email_sent_at = models.DateTimeField(_("email sent"), null=True, blank=True)
    # The email provider's id of the deployment email last accepted (empty over SMTP), and what
    # its tracking webhook said of it since: delivered, reported as spam, bounced or rejected.
    email_message_id = models.CharField(_("provider's message id"), max_length=255, blank=True)
    email_delivery = models.CharField(_("delivery"), max_length=12, choices=Delivery.choices,
                                      blank=True)
    email_delivery_reason = models.TextField(_("delivery details"), blank=True)
    email_delivery_at = models.DateTimeField(_("delivery reported"), null=True, blank=True)
    # First POST in the wizard (never a GET: mail scanners fetch links).
    setup_begun_at = models.DateTimeField(_("setup begun"), null=True, blank=True)
    set_up_at = models.DateTimeField(_("set up"), null=True, blank=True)
    setup_mode = models.CharField(_("setup by"), max_length=10, choices=SetupMode.choices, blank=True)
    installer_name = models.CharField(_("installer name"), max_length=150, blank=True)
    installer_email = models.EmailField(_("installer email"), blank=True)
    password_set_at = models.DateTimeField(_("password set"), null=True, blank=True)
    # Handed to the customer (step 5): when, and the partner's link that confirmed it (a second
    # click or tab of that link still reaches its done page).
    handed_over_at = models.DateTimeField(_("handed to the customer"), null=True, blank=True)
    handover_link = models.ForeignKey("SetupLink", models.SET_NULL, null=True, blank=True,
                                      related_name="+", verbose_name=_("hand-over link"))
    customer_admin_email = models.EmailField(_("customer administrator"), blank=True)
    # The administrator this order's setup created (who may still have no password), and the
    # browser (onboarding.access.browser_id) of the latest Confirm: only that browser is offered
    # the password, and only it is shown the done page again after a hand-over.
    new_admin = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                  related_name="+", verbose_name=_("new administrator"))
    confirmed_in_browser = models.CharField(max_length=32, blank=True, editable=False)
    # flag_stalled_provisioning: start date + 1 day at the same hour.
    stall_due_at = models.DateTimeField(_("stalled from"))
    stalled_at = models.DateTimeField(_("stalled"), null=True, blank=True)
    rep_notified_at = models.DateTimeField(_("rep notified"), null=True, blank=True)
    # send_setup_reminders: the contact's reminder, about a day after their email, once.
    reminded_at = models.DateTimeField(_("setup reminder sent"), null=True, blank=True)
    # send_window_reminders: a few days before the window closes (lifecycle.WINDOW_REMINDER).
    window_reminder_due_at = models.DateTimeField(_("window reminder due"), null=True, blank=True)
    window_reminded_at = models.DateTimeField(_("window reminder sent"), null=True, blank=True)
    last_contacted_at = models.DateTimeField(_("rep last contacted partner"), null=True, blank=True)
    # Setup window: links stop working after this; an admin or rep may extend it (re-open).
    window_closes_at = models.DateTimeField(_("setup window closes"))
    deployed_at = models.DateTimeField(_("deployed"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("provisioning")
        verbose_name_plural = _("provisioning")
        indexes = [
            # send_due_deployment_emails: only unsent rows, so an idle run reads a tiny index.
            models.Index(fields=["email_next_attempt_at"], name="prov_email_due_idx",
                         condition=Q(email_sent_at__isnull=True)),
            # flag_stalled_provisioning: only rows not yet flagged and not set up.
            models.Index(fields=["stall_due_at"], name="prov_stall_due_idx",
                         condition=Q(stalled_at__isnull=True, set_up_at__isnull=True)),
            # The rep dashboard: stalled and still not set up, most overdue first.
            models.Index(fields=["stall_due_at"], name="prov_stalled_open_idx",
                         condition=Q(stalled_at__isnull=False, set_up_at__isnull=True)),
            # Dashboard "email failed" filter and admin.
            models.Index(fields=["email_failed_at"], name="prov_email_failed_idx",
                         condition=Q(email_failed_at__isnull=False, email_sent_at__isnull=True)),
            models.Index(fields=["status"], name="prov_status_idx"),
            # The delivery webhook finds the deployment email by the provider's id.
            models.Index(fields=["email_message_id"], name="prov_email_message_idx",
                         condition=~Q(email_message_id="")),
            # Dashboard and admin: deployment emails that bounced or were rejected.
            models.Index(fields=["email_delivery_at"], name="prov_email_undelivered_idx",
                         condition=Q(email_delivery__in=UNDELIVERED)),
            # send_setup_reminders: emailed, never reminded, setup not begun.
            models.Index(fields=["email_sent_at"], name="prov_reminder_due_idx",
                         condition=Q(reminded_at__isnull=True, setup_begun_at__isnull=True,
                                     email_sent_at__isnull=False)),
            # send_window_reminders: not reminded yet, not deployed.
            models.Index(fields=["window_reminder_due_at"], name="prov_window_reminder_idx",
                         condition=Q(window_reminded_at__isnull=True, deployed_at__isnull=True)),
            # close_expired_setup_windows: only orders whose window can still close.
            models.Index(fields=["window_closes_at"], name="prov_window_open_idx",
                         condition=Q(deployed_at__isnull=True) & ~Q(status__in=["closed", "deployed"])),
        ]

    def __str__(self):
        return f"{self.order_id} — {self.get_status_display()}"


class Event(models.Model):
    """The order's history. Append-only: rows are never updated or deleted by the product."""

    class Kind(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        UPDATED = "updated", _("Updated by import")
        EMAIL_SENT = "email_sent", _("Deployment email sent")
        EMAIL_FAILED = "email_failed", _("Deployment email failed")
        EMAIL_BOUNCED = "email_bounced", _("Deployment email bounced")
        LINK_ISSUED = "link_issued", _("Setup link issued")
        RESENT = "resent", _("Email resent")
        CONTACT_CHANGED = "contact_changed", _("Deployment contact changed")
        SETUP_BEGUN = "setup_begun", _("Setup begun")
        COLLEAGUE_INVITED = "colleague_invited", _("Colleague asked to do the setup")
        CUSTOMER_INVITED = "customer_invited", _("Customer asked to do the setup")
        NOT_RECOGNISED = "not_recognised", _("Organisation not recognised")
        JOIN_REQUESTED = "join_requested", _("Asked to join the partner organisation")
        JOIN_DECIDED = "join_decided", _("Request to join answered")
        ORG_REFUSED = "org_refused", _("Organisation managed elsewhere")
        ADMIN_INVITED = "admin_invited", _("Customer administrator invited")
        SET_UP = "set_up", _("Set up")
        PASSWORD_SET = "password_set", _("Password set")
        STALLED = "stalled", _("Stalled")
        REP_NOTIFIED = "rep_notified", _("Account rep notified")
        CONTACTED = "contacted", _("Rep contacted the partner")
        REMINDED = "reminded", _("Setup reminder sent")
        WINDOW_REMINDED = "window_reminded", _("Reminder sent: the setup window closes soon")
        SETTINGS_SAVED = "settings_saved", _("Service settings saved")
        SUBDOMAIN_RESERVED = "subdomain_reserved", _("Subdomain reserved")
        DEPLOYED = "deployed", _("Deployed, billing started")
        CLOSED = "closed", _("Setup window closed")
        REOPENED = "reopened", _("Re-opened")

    order = models.ForeignKey("orders.Order", models.CASCADE, related_name="events",
                              verbose_name=_("order"))
    kind = models.CharField(_("event"), max_length=20, choices=Kind.choices)
    at = models.DateTimeField(_("at"), db_default=models.functions.Now())
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                              related_name="+", verbose_name=_("by"))
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("history event")
        verbose_name_plural = _("history")
        indexes = [
            models.Index(fields=["order", "-at"], name="event_order_at_idx"),
            # The dashboard chart: stalled / set up per day over 30 days.
            models.Index(fields=["kind", "at"], name="event_kind_at_idx"),
        ]

    def __str__(self):
        return f"{self.order_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("History events are append-only.")
        super().save(*args, **kwargs)


class SetupLink(models.Model):
    """A Set up now link: the raw token is only ever in the email; we keep its SHA-256."""

    class Purpose(models.TextChoices):
        DEPLOYMENT = "deployment", _("Deployment contact")
        COLLEAGUE = "colleague", _("Colleague")
        CUSTOMER_ADMIN = "customer_admin", _("Customer administrator")

    order = models.ForeignKey("orders.Order", models.CASCADE, related_name="setup_links",
                              verbose_name=_("order"))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The token is derived from this and SECRET_KEY when its email is sent (provisioning/tokens.py).
    nonce = models.CharField(max_length=32, blank=True, editable=False)
    recipient_email = models.EmailField(_("recipient"))
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    # Set when a newer link replaces this one.
    superseded_at = models.DateTimeField(_("superseded"), null=True, blank=True)

    class Meta:
        verbose_name = _("setup link")
        verbose_name_plural = _("setup links")
        constraints = [
            # One live link per order: issuing a new one must supersede the old in the same transaction.
            models.UniqueConstraint(fields=["order"], condition=Q(superseded_at__isnull=True),
                                    name="setuplink_one_live_per_order"),
        ]

    def __str__(self):
        return f"{self.order_id} → {self.recipient_email}"


class OutboundEmail(models.Model):
    """Outbox: every email is written here in the caller's transaction, then sent by a task
    (enqueued on commit) or, if the broker was down, by the send_pending_emails sweep."""

    class Kind(models.TextChoices):
        DEPLOYMENT = "deployment", _("Deployment email")
        COLLEAGUE = "colleague", _("Setup handed to a colleague")
        CUSTOMER_ADMIN = "customer_admin", _("Setup handed to the customer")
        REP_STALLED = "rep_stalled", _("Stalled orders (to rep)")
        REP_NOT_RECOGNISED = "rep_not_recognised", _("Organisation not recognised (to rep)")
        DEPLOYED = "deployed", _("Deployment confirmation")
        VERIFICATION = "verification", _("Email address verification code")
        PASSWORD = "password", _("Password link")
        INVITATION = "invitation", _("Invitation to administer an organisation")
        JOIN_REQUEST = "join_request", _("Request to join an organisation (to its admins)")
        JOIN_DECIDED = "join_decided", _("Answer to a request to join")
        REP_ORG_REFUSED = "rep_org_refused", _("Organisation managed elsewhere (to rep)")
        CONTACT_CHANGED_NOTICE = "contact_changed", _("Contact changed (to the previous contact)")
        SETUP_REMINDER = "setup_reminder", _("Setup reminder")
        WINDOW_REMINDER = "window_reminder", _("The setup window closes soon")
        REP_WINDOW_CLOSING = "rep_window_closing", _("Setup windows closing soon (to rep)")
        REP_EMAIL_BOUNCED = "rep_email_bounced", _("Deployment email bounced (to rep)")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    order = models.ForeignKey("orders.Order", models.CASCADE, null=True, blank=True,
                              related_name="emails", verbose_name=_("order"))
    to = models.EmailField(_("to"))
    subject = models.CharField(_("subject"), max_length=255)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # {context name: [resolver, reference]}: secrets derived when the email is sent (outbox.py).
    secrets = models.JSONField(_("secrets added when sent"), default=dict, blank=True)
    # The email provider's id (empty over SMTP) and what its tracking webhook said since.
    message_id = models.CharField(_("provider's message id"), max_length=255, blank=True)
    delivery = models.CharField(_("delivery"), max_length=12, choices=Delivery.choices, blank=True)
    delivery_reason = models.TextField(_("delivery details"), blank=True)
    delivery_at = models.DateTimeField(_("delivery reported"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")
        indexes = [
            models.Index(fields=["next_attempt_at"], name="outbox_pending_idx",
                         condition=Q(sent_at__isnull=True)),
            # /metrics: emails sent today per kind, read from the index alone (kind in it).
            models.Index(fields=["sent_at", "kind"], name="outbox_sent_idx",
                         condition=Q(sent_at__isnull=False)),
            models.Index(fields=["message_id"], name="outbox_message_idx",
                         condition=~Q(message_id="")),
            # /metrics: emails bounced or rejected today.
            models.Index(fields=["delivery_at"], name="outbox_undelivered_idx",
                         condition=Q(delivery__in=UNDELIVERED)),
        ]

    def __str__(self):
        return f"{self.kind} → {self.to}"


class Subscription(models.Model):
    order = models.OneToOneField("orders.Order", models.CASCADE, related_name="subscription",
                                 verbose_name=_("order"))
    subscription_id = models.CharField(_("subscription id"), max_length=32, unique=True)
    # The service setup's first step: the installer reviewed the ordered services and quantities.
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self):
        return self.subscription_id


class BillingPeriod(models.Model):
    """The start of billing for one purchased service. At most one per service per subscription."""

    subscription = models.ForeignKey(Subscription, models.CASCADE, related_name="billing_periods",
                                     verbose_name=_("subscription"))
    service = models.CharField(_("service"), max_length=20, choices=Service.choices)
    started_at = models.DateTimeField(_("billing started"))

    class Meta:
        verbose_name = _("billing period")
        verbose_name_plural = _("billing periods")
        constraints = [
            models.UniqueConstraint(fields=["subscription", "service"],
                                    name="billing_one_start_per_service"),
        ]

    def __str__(self):
        return f"{self.subscription} {self.service} {self.started_at:%Y-%m-%d}"


class CallingSettings(models.Model):
    order = models.OneToOneField("orders.Order", models.CASCADE, related_name="calling_settings",
                                 verbose_name=_("order"))
    country = models.CharField(_("country"), max_length=2)
    time_zone = models.CharField(_("time zone"), max_length=64)
    location_name = models.CharField(_("default location name"), max_length=100)
    main_number = models.CharField(_("main number"), max_length=20)  # E.164
    saved_at = models.DateTimeField(_("saved"), auto_now=True)

    class Meta:
        verbose_name = _("calling settings")
        verbose_name_plural = _("calling settings")


class MeetingSettings(models.Model):
    order = models.OneToOneField("orders.Order", models.CASCADE, related_name="meeting_settings",
                                 verbose_name=_("order"))
    language = models.CharField(_("default language"), max_length=8)
    time_zone = models.CharField(_("time zone"), max_length=64)
    recording_allowed = models.BooleanField(_("recording allowed"), default=True)
    guests_allowed = models.BooleanField(_("guests without an account may join"), default=True)
    join_before_host = models.BooleanField(_("attendees may join before the host"), default=False)
    saved_at = models.DateTimeField(_("saved"), auto_now=True)

    class Meta:
        verbose_name = _("meeting settings")
        verbose_name_plural = _("meeting settings")


# --- Operators' metrics (provisioning/metrics.py) ------------------------------------------------
# Counts that no other row holds, kept in PostgreSQL so that every process (web, workers, beat,
# on any machine) adds to the same figures and /metrics reads them wherever it is answered.
# Read by Prometheus only (no admin page), so their names are not translated.

class JobStats(models.Model):
    """One row per beat job: its runs so far, added to by its Celery task at the end of each run
    (metrics.job_run)."""

    job = models.CharField(max_length=40, primary_key=True)
    runs = models.BigIntegerField(default=0)
    failures = models.BigIntegerField(default=0)            # runs that raised
    seconds_total = models.FloatField(default=0)
    rows_total = models.BigIntegerField(default=0)          # rows claimed, all runs
    last_run_at = models.DateTimeField(null=True)           # when the last run ended
    last_success_at = models.DateTimeField(null=True)       # ... the last run that did not raise
    last_seconds = models.FloatField(default=0)
    last_rows = models.IntegerField(default=0)

    def __str__(self):
        return self.job


class WebhookEventCount(models.Model):
    """Email delivery webhook events received, per event kind (metrics.webhook_event)."""

    kind = models.CharField(max_length=32, primary_key=True)
    received = models.BigIntegerField(default=0)
    last_received_at = models.DateTimeField(null=True)

    def __str__(self):
        return self.kind


class BouncedAddress(models.Model):
    """An address an email to which bounced or was rejected by the provider: the outbox and the
    deployment-email job send it nothing more until a rep resends to it or makes it an order's
    deployment contact (provisioning/delivery.py says the rule)."""

    email = models.EmailField(_("address"), unique=True)  # normalised (orgs.normalise_email)
    delivery = models.CharField(_("delivery"), max_length=12, choices=Delivery.choices)
    reason = models.TextField(_("delivery details"), blank=True)
    bounced_at = models.DateTimeField(_("bounced"))
    message_id = models.CharField(_("provider's message id"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("bounced address")
        verbose_name_plural = _("bounced addresses")

    def __str__(self):
        return self.email


class DeliveryEvent(models.Model):
    """One tracking webhook event about one of our emails, kept once per the provider's event id:
    the same event posted again (a provider's retry, a replay) finds its row and changes nothing."""

    esp = models.CharField(_("provider"), max_length=20)
    event_id = models.CharField(_("event id"), max_length=255)
    kind = models.CharField(_("event"), max_length=20)
    message_id = models.CharField(_("provider's message id"), max_length=255)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    reason = models.TextField(_("details"), blank=True)
    occurred_at = models.DateTimeField(_("at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    email = models.ForeignKey(OutboundEmail, models.SET_NULL, null=True, blank=True,
                              related_name="+", verbose_name=_("outbound email"))
    order = models.ForeignKey("orders.Order", models.SET_NULL, null=True, blank=True,
                              related_name="+", verbose_name=_("order (deployment email)"))

    class Meta:
        verbose_name = _("delivery event")
        verbose_name_plural = _("delivery events")
        constraints = [
            models.UniqueConstraint(fields=["esp", "event_id"], name="delivery_event_once"),
        ]

    def __str__(self):
        return f"{self.kind} {self.message_id}"
