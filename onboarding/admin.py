"""Requests to join and invitations in admin: read, and (requests) answered by a rep or an
administrator when the organisation has no administrator who could. Written by the product only."""
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _, ngettext

from onboarding import memberships
from orders.admin_tools import LargeTableAdmin
from orgs.models import Invitation, JoinRequest


class WrittenByTheProduct:
    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(JoinRequest)
class JoinRequestAdmin(WrittenByTheProduct, LargeTableAdmin):
    list_display = ["email", "organization", "order", "status", "created_at", "decided_at",
                    "decided_by"]
    list_select_related = ["organization", "order", "decided_by"]
    list_filter = ["status"]
    search_fields = ["email", "organization__name", "order__number"]
    ordering = ["-id"]
    readonly_fields = ["email", "full_name", "organization", "order", "status", "created_at",
                       "decided_at", "decided_by"]
    exclude = ["nonce"]
    actions = ["approve", "decline"]

    def _decide(self, request, queryset, approve):
        done = 0
        for join_request in queryset.filter(status=JoinRequest.Status.PENDING):
            try:
                memberships.decide_join(join_request, approve, by=request.user)
                done += 1
            except memberships.AlreadyAnswered:
                pass
        self.message_user(request, ngettext("%(count)d request answered.",
                                            "%(count)d requests answered.", done)
                          % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Approve the selected requests"), permissions=["change"])
    def approve(self, request, queryset):
        self._decide(request, queryset, True)

    @admin.action(description=_("Decline the selected requests"), permissions=["change"])
    def decline(self, request, queryset):
        self._decide(request, queryset, False)


@admin.register(Invitation)
class InvitationAdmin(WrittenByTheProduct, LargeTableAdmin):
    list_display = ["email", "organization", "order", "role", "created_at", "expires_at",
                    "accepted_at"]
    list_select_related = ["organization", "order"]
    search_fields = ["email", "organization__name", "order__number"]
    ordering = ["-id"]
    readonly_fields = ["email", "organization", "order", "role", "invited_by", "created_at",
                       "expires_at", "accepted_at"]
    exclude = ["nonce"]
