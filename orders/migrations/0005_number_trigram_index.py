"""A trigram index on the order number, for the rep dashboard's search by a fragment of it
(`number__icontains`): the varchar_pattern_ops index only serves a case-sensitive prefix."""
from django.db import migrations

from config.search_indexes import trigram_indexes


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_trigram_search_indexes")]
    operations = [trigram_indexes("orders_order", {"order_number_trgm_idx": "number"})]
