"""Admin helpers for tables that grow to millions of rows, shared by the orders, orgs and
provisioning admins."""
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _


class EstimatedCountPaginator(Paginator):
    """An unfiltered changelist on PostgreSQL pages on the planner's row estimate
    (pg_class.reltuples, kept fresh by autovacuum) instead of a COUNT(*) that reads the whole
    table. Filtered and searched lists, small tables and other databases count exactly."""

    # Below this many rows an exact COUNT(*) is cheap and the estimate could look odd.
    estimate_above = 50_000

    @cached_property
    def count(self):
        qs = self.object_list
        if isinstance(qs, QuerySet) and not qs.query.where and not qs.query.distinct:
            estimate = estimated_rows(qs.model, qs.db)
            if estimate is not None and estimate >= self.estimate_above:
                return estimate
        return super().count


def estimated_rows(model, using="default"):
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                       [connection.ops.quote_name(model._meta.db_table)])
        row = cursor.fetchone()
    # -1: never vacuumed or analysed; the planner has no idea yet.
    return row[0] if row and row[0] >= 0 else None


class LargeTableAdmin(admin.ModelAdmin):
    """Changelist settings for big tables: no second COUNT(*) for "n total", estimated page count."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50


class ReadOnlyAdminMixin:
    """Rows the product writes (history, links, outbox): visible in admin, never edited there."""

    def get_readonly_fields(self, request, obj=None):
        if self.fieldsets:
            return [name for _title, options in self.fieldsets for name in options["fields"]]
        return list(self.fields or [field.name for field in self.model._meta.fields])

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class NullFilter(admin.SimpleListFilter):
    """Yes/No on a condition expressed as two Q objects (subclasses set yes_q and title)."""

    yes_q = None

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(self.yes_q)
        if self.value() == "no":
            return queryset.exclude(self.yes_q)
        return queryset
