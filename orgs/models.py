from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def normalise_email(email):
    """The one form in which the product compares and stores email addresses."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        # Sign-in is case-insensitive, like the unique constraint below.
        return self.get(email__iexact=email)

    def create_user(self, email, password=None, **extra):
        user = self.model(email=normalise_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in by email. Emails are unique whatever their letter case."""

    email = models.EmailField(_("email address"), max_length=254, unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES,
                                default=settings.LANGUAGE_CODE,
                                help_text=_("The emails this person receives are written in it."))
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique",
                                    violation_error_message=_("A user with this email already exists.")),
        ]

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name or self.email

    def save(self, *args, **kwargs):
        self.email = normalise_email(self.email)
        super().save(*args, **kwargs)


class Organization(models.Model):
    class Kind(models.TextChoices):
        PARTNER = "partner", _("Partner")
        CUSTOMER = "customer", _("Customer")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    # The ordering system's id: partner.id or customer.id of the order JSON.
    external_id = models.CharField(_("external id"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(_("country"), max_length=2)
    address = models.CharField(_("address"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    # The partner that manages this customer org; empty when the customer did the setup.
    managed_by = models.ForeignKey("self", models.PROTECT, null=True, blank=True,
                                   related_name="managed_customers",
                                   limit_choices_to={"kind": "partner"},
                                   verbose_name=_("managed by partner"))
    subdomain = models.CharField(_("Webex subdomain"), max_length=30, null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(fields=["kind", "external_id"], name="org_kind_external_id_unique"),
            models.UniqueConstraint(Lower("subdomain"), name="org_subdomain_ci_unique",
                                    violation_error_message=_("This subdomain is already taken.")),
            models.CheckConstraint(condition=Q(managed_by__isnull=True) | Q(kind="customer"),
                                   name="org_only_customers_are_managed"),
        ]
        indexes = [models.Index(Lower("name"), name="org_name_lower_idx")]

    def __str__(self):
        return f"{self.name} ({self.external_id})"


class Membership(models.Model):
    """A user's one organisation. OneToOne on user: the database refuses a second one."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        MEMBER = "member", _("Member")

    user = models.OneToOneField(User, models.CASCADE, related_name="membership",
                                verbose_name=_("user"))
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="memberships",
                                     verbose_name=_("organisation"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.ADMIN)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self):
        return f"{self.user} → {self.organization}"


class Invitation(models.Model):
    """An address asked to administer an organisation. The membership exists only once the
    person opens the emailed link and accepts: that proves the mailbox. Single use."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="invitations",
                                     verbose_name=_("organisation"))
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=10, choices=Membership.Role.choices,
                            default=Membership.Role.ADMIN)
    order = models.ForeignKey("orders.Order", models.CASCADE, null=True, blank=True,
                              related_name="invitations", verbose_name=_("order"))
    invited_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("invited by"))
    # Its link's token is derived from this and SECRET_KEY (provisioning/tokens.py), never stored.
    nonce = models.CharField(max_length=32, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self):
        return f"{self.email} → {self.organization}"


class JoinRequest(models.Model):
    """Someone whose address is proven (a setup link's recipient, or a verified code) asks to join
    an existing partner organisation; one of its administrators approves or declines."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="join_requests",
                                     verbose_name=_("organisation"))
    email = models.EmailField(_("email address"))
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    order = models.ForeignKey("orders.Order", models.CASCADE, null=True, blank=True,
                              related_name="join_requests", verbose_name=_("order"))
    # Each administrator's approve/decline token is derived from this and SECRET_KEY, never stored.
    nonce = models.CharField(max_length=32, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    created_at = models.DateTimeField(_("asked"), auto_now_add=True)
    decided_at = models.DateTimeField(_("answered"), null=True, blank=True)
    decided_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("answered by"))

    class Meta:
        verbose_name = _("request to join")
        verbose_name_plural = _("requests to join")
        constraints = [
            # Asking twice while waiting is the same request.
            models.UniqueConstraint("organization", Lower("email"), condition=Q(status="pending"),
                                    name="joinrequest_one_pending_per_email"),
        ]
        indexes = [
            # The dashboard's "waiting for the partner's approval" and the admins' page.
            models.Index(fields=["order"], name="joinrequest_pending_order_idx",
                         condition=Q(status="pending")),
        ]

    def __str__(self):
        return f"{self.email} → {self.organization} ({self.status})"
