"""Provisioning state is changed only by the lifecycle (provisioning/lifecycle.py; from the admin,
through the actions on the order list): these pages show it, with every timestamp and email
error, but edit none of it."""
from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orders.admin_tools import LargeTableAdmin, NullFilter, ReadOnlyAdminMixin
from orders.selectors import search_orders
from provisioning.models import (UNDELIVERED, BillingPeriod, BouncedAddress, CallingSettings,
                                 DeliveryEvent, Event, MeetingSettings, OutboundEmail, Provisioning,
                                 SetupLink, Subscription)

ORDER_SEARCH_HELP = _("An order number (or its beginning), a partner or customer id, an email "
                      "address (exact), or part of a partner or customer name.")


class OrderSearchMixin:
    """Search the rows of one order through the order's indexed fields."""

    search_fields = ["order__number"]
    search_help_text = ORDER_SEARCH_HELP

    def get_search_results(self, request, queryset, search_term):
        return search_orders(queryset, search_term, prefix="order__"), False


def provisioning_filters(path=""):
    """The stalled, email-failed and email-bounced filters, for Provisioning (path "") or a model
    that reaches it through `path` (e.g. "provisioning__" from Order)."""

    class StalledFilter(NullFilter):
        title = _("stalled")
        parameter_name = "stalled"
        # Matches the rep dashboard's partial index prov_stalled_open_idx.
        yes_q = Q(**{f"{path}stalled_at__isnull": False, f"{path}set_up_at__isnull": True})

    class EmailFailedFilter(NullFilter):
        title = _("deployment email failed")
        parameter_name = "email_failed"
        yes_q = Q(**{f"{path}email_failed_at__isnull": False, f"{path}email_sent_at__isnull": True})

    class EmailBouncedFilter(NullFilter):
        title = _("deployment email bounced")
        parameter_name = "email_bounced"
        # Matches prov_email_undelivered_idx; a rep's resend or change of contact clears it.
        yes_q = Q(**{f"{path}email_delivery__in": UNDELIVERED})

    return StalledFilter, EmailFailedFilter, EmailBouncedFilter


StalledFilter, EmailFailedFilter, EmailBouncedFilter = provisioning_filters()

# The deployment email's delivery as the provider's webhook reported it (provisioning/delivery.py).
DELIVERY_FIELDS = ["email_message_id", "email_delivery", "email_delivery_reason", "email_delivery_at"]


@admin.register(Provisioning)
class ProvisioningAdmin(OrderSearchMixin, LargeTableAdmin):
    list_display = ["order", "status", "email_due_at", "email_sent_at", "email_attempts",
                    "email_failed_at", "set_up_at", "stalled_at", "deployed_at"]
    list_select_related = ["order"]
    list_filter = ["status", StalledFilter, EmailFailedFilter, EmailBouncedFilter, "setup_mode",
                   "email_due_at"]
    ordering = ["-pk"]  # newest orders first, read backwards on the primary key
    fieldsets = [
        (None, {"fields": ["order", "status", "setup_mode", "installer_name", "installer_email"]}),
        (_("Deployment email"), {"fields": ["email_due_at", "outbox_email", "email_sent_at",
                                            "email_attempts", "email_next_attempt_at",
                                            "email_failed_at", "email_last_error",
                                            *DELIVERY_FIELDS]}),
        (_("Setup"), {"fields": ["setup_begun_at", "set_up_at", "password_set_at",
                                 "window_closes_at", "deployed_at"]}),
        (_("Stall"), {"fields": ["stall_due_at", "stalled_at", "rep_notified_at",
                                 "last_contacted_at"]}),
        (_("Record"), {"fields": ["updated_at"]}),
    ]

    def has_add_permission(self, request):
        return False  # created with its order by the import

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, OrderSearchMixin, LargeTableAdmin):
    """The history is append-only: no add, change or delete, even for a superuser."""

    list_display = ["at", "order", "kind", "actor", "note"]
    list_select_related = ["order", "actor"]
    list_filter = ["kind", "at"]
    ordering = ["-id"]  # insertion order: no sort over the whole table
    fields = ["order", "at", "kind", "actor", "note", "data"]


@admin.register(SetupLink)
class SetupLinkAdmin(ReadOnlyAdminMixin, OrderSearchMixin, LargeTableAdmin):
    """Only the token's hash is stored; neither it nor a token is ever shown."""

    list_display = ["order", "recipient_email", "purpose", "created_at", "superseded_at", "is_live"]
    list_select_related = ["order"]
    list_filter = ["purpose", ("superseded_at", admin.EmptyFieldListFilter)]
    ordering = ["-id"]
    fields = ["order", "recipient_email", "purpose", "created_at", "superseded_at"]

    @admin.display(description=_("live"), boolean=True)
    def is_live(self, link):
        return link.superseded_at is None


class DeliveryFilter(admin.SimpleListFilter):
    title = _("delivery")
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [("sent", _("Sent")), ("pending", _("Pending")), ("failed", _("Failed, retrying")),
                ("bounced", _("Bounced or rejected"))]

    def queryset(self, request, queryset):
        if self.value() == "bounced":
            return queryset.filter(delivery__in=UNDELIVERED)
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        if self.value() == "pending":
            return queryset.filter(sent_at__isnull=True, last_error="")
        if self.value() == "failed":
            return queryset.filter(sent_at__isnull=True).exclude(last_error="")
        return queryset


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = ["created_at", "kind", "to", "subject", "order", "attempts", "sent_at",
                    "delivery", "short_error"]
    list_select_related = ["order"]
    list_filter = [DeliveryFilter, "kind", "created_at"]
    search_fields = ["to", "order__number", "subject"]
    search_help_text = _("A recipient's email address (exact) or an order number.")
    ordering = ["-id"]
    fields = ["kind", "order", "to", "subject", "created_at", "attempts", "next_attempt_at",
              "sent_at", "last_error", "message_id", "delivery", "delivery_reason", "delivery_at",
              "body_text", "body_html"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if "@" in term:
            return queryset.filter(to__iexact=term), False
        return queryset.filter(Q(order__number=term) | Q(order__number=term.upper())), False

    @admin.display(description=_("last error"))
    def short_error(self, email):
        return (email.last_error[:80] + "…") if len(email.last_error) > 80 else email.last_error


@admin.register(BouncedAddress)
class BouncedAddressAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Addresses nothing is sent to until a rep resends to them or makes them an order's contact
    (provisioning/delivery.py): from the dashboard, or the order list's actions."""

    list_display = ["email", "delivery", "bounced_at", "reason"]
    list_filter = ["delivery", "bounced_at"]
    search_fields = ["=email"]
    ordering = ["-bounced_at"]
    fields = ["email", "delivery", "reason", "bounced_at", "message_id"]


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    """The provider's webhook events about our emails, once per event id."""

    list_display = ["received_at", "kind", "recipient", "order", "email", "reason"]
    list_select_related = ["order", "email"]
    list_filter = ["kind", "esp", "received_at"]
    search_fields = ["=message_id", "=recipient"]
    ordering = ["-id"]
    fields = ["esp", "event_id", "kind", "message_id", "recipient", "reason", "occurred_at",
              "received_at", "email", "order"]


class BillingPeriodInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Billing starts once per service (a database constraint); set by 'Deploy and start billing'."""

    model = BillingPeriod
    extra = 0
    fields = ["service", "started_at"]


@admin.register(Subscription)
class SubscriptionAdmin(OrderSearchMixin, LargeTableAdmin):
    list_display = ["subscription_id", "order", "activated_at"]
    list_select_related = ["order"]
    list_filter = [("activated_at", admin.EmptyFieldListFilter)]
    search_fields = ["subscription_id", "order__number"]
    ordering = ["-id"]
    autocomplete_fields = ["order"]
    readonly_fields = ["activated_at"]
    inlines = [BillingPeriodInline]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if term and queryset.filter(subscription_id=term).exists():
            return queryset.filter(subscription_id=term), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(BillingPeriod)
class BillingPeriodAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = ["subscription", "service", "started_at"]
    list_select_related = ["subscription"]
    list_filter = ["service", "started_at"]
    search_fields = ["subscription__subscription_id"]
    ordering = ["-id"]


@admin.register(CallingSettings)
class CallingSettingsAdmin(OrderSearchMixin, LargeTableAdmin):
    list_display = ["order", "country", "time_zone", "location_name", "main_number", "saved_at"]
    list_select_related = ["order"]
    list_filter = ["country"]
    autocomplete_fields = ["order"]
    ordering = ["-id"]
    readonly_fields = ["saved_at"]


@admin.register(MeetingSettings)
class MeetingSettingsAdmin(OrderSearchMixin, LargeTableAdmin):
    list_display = ["order", "language", "time_zone", "recording_allowed", "saved_at"]
    list_select_related = ["order"]
    list_filter = ["language", "recording_allowed"]
    autocomplete_fields = ["order"]
    ordering = ["-id"]
    readonly_fields = ["saved_at"]
