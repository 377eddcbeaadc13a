from django.contrib import admin, messages
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy as _

from orders import services
from orders.admin_tools import LargeTableAdmin, ReadOnlyAdminMixin
from orders.models import ApiKey, Order, OrderLine
from orders.selectors import search_orders
from provisioning.admin import DELIVERY_FIELDS, provisioning_filters
from provisioning.admin_actions import ORDER_ACTIONS
from provisioning.models import UNDELIVERED, Event, Provisioning, SetupLink


StalledFilter, EmailFailedFilter, EmailBouncedFilter = provisioning_filters("provisioning__")


def change_contact_link(order):
    """The rep's change-contact page for `order`, one click from admin."""
    return format_html('<a href="{}">{}</a>', reverse("provisioning:change_contact", args=[order.number]),
                       gettext("Change contact"))


SEARCH_HELP = _("An order number (or its beginning), a partner or customer id, an email address "
                "(exact), or part of a partner or customer name.")


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["service", "sku", "quantity", "deployment_contact_email"]


class ProvisioningInline(ReadOnlyAdminMixin, admin.StackedInline):
    """Provisioning changes only through its services (admin actions on the order list)."""

    model = Provisioning
    can_delete = False
    fieldsets = [
        (None, {"fields": ["status", "setup_mode", "installer_name", "installer_email"]}),
        (_("Deployment email"), {"fields": ["email_due_at", "email_sent_at", "email_attempts",
                                            "email_next_attempt_at", "email_failed_at",
                                            "email_last_error", "bounce", *DELIVERY_FIELDS]}),
        (_("Setup"), {"fields": ["setup_begun_at", "set_up_at", "password_set_at",
                                 "window_closes_at", "deployed_at"]}),
        (_("Stall"), {"fields": ["stall_due_at", "stalled_at", "rep_notified_at",
                                 "last_contacted_at"]}),
    ]

    @admin.display(description=_("bounce"))
    def bounce(self, provisioning):
        if provisioning.email_delivery not in UNDELIVERED:
            return "—"
        return format_html("{} — {}", provisioning.get_email_delivery_display(),
                           change_contact_link(provisioning.order))


class EventInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The order's history: append-only, so nobody adds, changes or deletes it here."""

    model = Event
    extra = 0
    fields = ["at", "kind", "actor", "note", "data"]
    ordering = ["-at", "-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class SetupLinkInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SetupLink
    extra = 0
    # Only the token's hash is stored, and even that stays out of the page.
    fields = ["recipient_email", "purpose", "created_at", "superseded_at"]
    ordering = ["-created_at"]


@admin.register(Order)
class OrderAdmin(LargeTableAdmin):
    list_display = ["number", "product", "requested_start_date", "customer_name", "partner_name",
                    "deployment_contact_email", "account_rep", "provisioning_status", "is_stalled",
                    "email_problem"]
    list_select_related = ["account_rep", "provisioning"]
    list_filter = ["product", "provisioning__status", "requested_start_date", StalledFilter,
                   EmailFailedFilter, EmailBouncedFilter, "language"]
    search_fields = ["number", "deployment_contact_email", "partner_name", "customer_name"]
    search_help_text = SEARCH_HELP
    ordering = ["-id"]
    autocomplete_fields = ["account_rep", "partner_org", "customer_org"]
    inlines = [ProvisioningInline, OrderLineInline, SetupLinkInline, EventInline]
    actions = [*ORDER_ACTIONS]
    fieldsets = [
        (None, {"fields": ["number", "product", "requested_start_date", "deployment_contact_email",
                           "language", "account_rep"]}),
        (_("Partner as ordered"), {"fields": ["partner_external_id", "partner_name",
                                              "partner_country", "partner_org"]}),
        (_("Customer as ordered"), {"fields": ["customer_external_id", "customer_name",
                                               "customer_country", "customer_address",
                                               "customer_city", "customer_postal_code",
                                               "customer_org"]}),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    ]

    def has_add_permission(self, request):
        # Orders arrive through import_orders or POST /api/orders, which also schedule them.
        return False

    def get_readonly_fields(self, request, obj=None):
        # The provisioning schedule and the emails depend on these: changed through the
        # re-import (before the email) or the provisioning actions, never by hand here.
        return ["number", "product", "requested_start_date", "deployment_contact_email",
                "created_at", "updated_at"]

    def get_search_results(self, request, queryset, search_term):
        return search_orders(queryset, search_term), False

    @admin.display(description=_("status"), ordering="provisioning__status")
    def provisioning_status(self, order):
        provisioning = getattr(order, "provisioning", None)
        return provisioning.get_status_display() if provisioning else "—"

    @admin.display(description=_("stalled"), boolean=True)
    def is_stalled(self, order):
        provisioning = getattr(order, "provisioning", None)
        return bool(provisioning and provisioning.stalled_at and not provisioning.set_up_at)

    @admin.display(description=_("email problem"))
    def email_problem(self, order):
        provisioning = getattr(order, "provisioning", None)
        if provisioning and provisioning.email_delivery in UNDELIVERED and not provisioning.set_up_at:
            return format_html('<span title="{}">{}</span> {}', provisioning.email_delivery_reason,
                               provisioning.get_email_delivery_display(), change_contact_link(order))
        if provisioning and provisioning.email_failed_at and not provisioning.email_sent_at:
            return format_html('<span title="{}">{}</span>', provisioning.email_last_error,
                               gettext("failing since %(when)s") % {
                                   "when": provisioning.email_failed_at.strftime("%Y-%m-%d %H:%M")})
        return ""


@admin.register(OrderLine)
class OrderLineAdmin(LargeTableAdmin):
    list_display = ["order", "service", "sku", "quantity", "deployment_contact_email"]
    list_select_related = ["order"]
    list_filter = ["service"]
    search_fields = ["order__number", "sku"]
    search_help_text = _("An order number, or a SKU (exact).")
    autocomplete_fields = ["order"]
    ordering = ["-id"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(order__number=term) | Q(order__number=term.upper()) | Q(sku=term)), False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys for POST /api/orders. Adding one shows the key once; only its SHA-256 is kept."""

    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at", "is_active"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return ["name"] if obj is None else ["name", "prefix", "created_at", "last_used_at",
                                             "revoked_at"]

    @admin.display(description=_("active"), boolean=True)
    def is_active(self, key):
        return key.revoked_at is None

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        raw, obj.prefix, obj.key_hash = services.generate_api_key()
        obj.save()
        messages.warning(request, gettext(
            "The new API key for “%(name)s” is %(key)s — copy it now: it is shown only this once "
            "and only its hash is stored. Send it as the header Authorization: Bearer <key>.")
            % {"name": obj.name, "key": raw})

    @admin.action(description=_("Revoke the selected API keys"))
    def revoke(self, request, queryset):
        count = services.revoke_api_keys(queryset)
        self.message_user(request, gettext("%(count)d API key(s) revoked.") % {"count": count})
