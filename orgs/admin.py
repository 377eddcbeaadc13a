from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm as BaseUserChangeForm
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy as _, ngettext

from orders.admin_tools import LargeTableAdmin
from orgs.models import Membership, Organization, User


class UserCreationForm(AdminUserCreationForm):
    """Email instead of a username; password1/password2 (or no usable password) as in Django."""

    class Meta:
        model = User
        fields = ("email",)


class UserChangeForm(BaseUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipInline(admin.StackedInline):
    model = Membership
    extra = 0
    max_num = 1  # one organisation per user; the database refuses a second one anyway
    autocomplete_fields = ["organization"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ["email", "full_name", "organisation", "is_staff", "account_status", "last_login"]
    list_select_related = ["membership__organization"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "full_name"]
    ordering = ["email"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal info"), {"fields": ["full_name", "language"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups",
                                       "user_permissions"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"],
                "fields": ["email", "full_name", "usable_password", "password1", "password2"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]
    actions = ["activate"]

    @admin.display(description=_("status"), ordering="is_active")
    def account_status(self, user):
        if user.is_active:
            return gettext("Active")
        # Reps the order import creates start here: named by whoever sent the order.
        return format_html('<strong class="errornote">{}</strong>',
                           gettext("Inactive: cannot sign in until activated"))

    @admin.action(description=_("Activate the selected accounts"), permissions=["change"])
    def activate(self, request, queryset):
        count = queryset.filter(is_active=False).update(is_active=True)
        self.message_user(request, ngettext(
            "%(count)d account activated: it can sign in (or choose its password through "
            "Forgot your password?).",
            "%(count)d accounts activated: they can sign in (or choose their password through "
            "Forgot your password?).", count) % {"count": count}, messages.SUCCESS)

    @admin.display(description=_("organisation"), ordering="membership__organization__name")
    def organisation(self, user):
        membership = getattr(user, "membership", None)
        return membership.organization.name if membership else "—"

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []


class MemberInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Organization)
class OrganizationAdmin(LargeTableAdmin):
    list_display = ["name", "kind", "external_id", "country", "subdomain", "managed_by", "created_at"]
    list_select_related = ["managed_by"]
    list_filter = ["kind"]
    search_fields = ["name", "external_id", "subdomain"]
    search_help_text = _("Name, external id (PTN-…, CUS-…) or Webex subdomain.")
    autocomplete_fields = ["managed_by"]
    ordering = ["-id"]
    inlines = [MemberInline]
    readonly_fields = ["created_at"]


@admin.register(Membership)
class MembershipAdmin(LargeTableAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_select_related = ["user", "organization"]
    list_filter = ["role", "organization__kind"]
    search_fields = ["user__email", "organization__name", "organization__external_id"]
    autocomplete_fields = ["user", "organization"]
    ordering = ["-id"]
