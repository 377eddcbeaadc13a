from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Product(models.TextChoices):
    A_WX = "A-WX", _("Webex Suite (A-WX)")
    A_SPK = "A-SPK", _("Webex à la carte (A-SPK)")
    A_FLEX = "A-FLEX", _("Webex flexible plan (A-FLEX)")


class Service(models.TextChoices):
    CALLING = "calling", _("Calling")
    MEETINGS = "meetings", _("Meetings")
    MESSAGING = "messaging", _("Messaging")
    WEBINARS = "webinars", _("Webinars")
    CONTACT_CENTER = "contact_center", _("Contact center")


class Language(models.TextChoices):
    EN = "en", _("English")
    FR = "fr", _("French")


class Order(models.Model):
    """An order as the ordering system sent it. Provisioning state lives in provisioning."""

    number = models.CharField(_("order number"), max_length=32, unique=True)
    product = models.CharField(_("product"), max_length=10, choices=Product.choices)
    requested_start_date = models.DateField(_("requested start date"))
    deployment_contact_email = models.EmailField(_("deployment contact email"))
    language = models.CharField(_("language"), max_length=2, choices=Language.choices,
                                default=Language.EN)
    account_rep = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT,
                                    related_name="rep_orders", verbose_name=_("account representative"))
    partner_external_id = models.CharField(_("partner id"), max_length=64)
    partner_name = models.CharField(_("partner name"), max_length=200)
    partner_country = models.CharField(_("partner country"), max_length=2)
    customer_external_id = models.CharField(_("customer id"), max_length=64)
    customer_name = models.CharField(_("customer name"), max_length=200)
    customer_country = models.CharField(_("customer country"), max_length=2)
    customer_address = models.CharField(_("customer address"), max_length=200, blank=True)
    customer_city = models.CharField(_("customer city"), max_length=100, blank=True)
    customer_postal_code = models.CharField(_("customer postal code"), max_length=20, blank=True)
    # Filled at Confirm (step 9), never before.
    partner_org = models.ForeignKey("orgs.Organization", models.PROTECT, null=True, blank=True,
                                    related_name="partner_orders", verbose_name=_("partner organisation"))
    customer_org = models.ForeignKey("orgs.Organization", models.PROTECT, null=True, blank=True,
                                     related_name="customer_orders",
                                     verbose_name=_("customer organisation"))
    created_at = models.DateTimeField(_("imported"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            # Admin and dashboard search by email and names.
            models.Index(Lower("deployment_contact_email"), name="order_contact_lower_idx"),
            models.Index(Lower("partner_name"), name="order_partner_lower_idx"),
            models.Index(Lower("customer_name"), name="order_customer_lower_idx"),
            models.Index(fields=["requested_start_date"], name="order_start_idx"),
            models.Index(fields=["partner_external_id"], name="order_partner_ext_idx"),
            # Admin search by customer id (orders.selectors.search_orders).
            models.Index(fields=["customer_external_id"], name="order_customer_ext_idx"),
            # Admin search by order-number prefix: LIKE 'CCW-8821%' needs pattern ops on PostgreSQL.
            models.Index(fields=["number"], name="order_number_prefix_idx",
                         opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self):
        return self.number

    @property
    def services(self):
        return sorted({line.service for line in self.lines.all()})


class OrderLine(models.Model):
    order = models.ForeignKey(Order, models.CASCADE, related_name="lines", verbose_name=_("order"))
    sku = models.CharField(_("SKU"), max_length=40)
    service = models.CharField(_("service"), max_length=20, choices=Service.choices)
    quantity = models.PositiveIntegerField(_("quantity"))
    # Each line may name its own contact ("apply to the order's other lines" changes them all).
    deployment_contact_email = models.EmailField(_("deployment contact email"), blank=True)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderline_quantity_positive"),
            models.UniqueConstraint(fields=["order", "sku"], name="orderline_sku_unique_per_order"),
        ]

    def __str__(self):
        return f"{self.sku} × {self.quantity}"


class ApiKey(models.Model):
    """A bearer key for POST /api/orders. Only a SHA-256 of the key is stored."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"
