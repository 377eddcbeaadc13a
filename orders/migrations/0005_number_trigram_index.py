"""A trigram index on the order number, for the rep dashboard's search by a fragment of it
(`number__icontains`): the varchar_pattern_ops index only serves a case-sensitive prefix."""
from django.db import migrations

from config.search_indexes import add_on_postgresql, trigram_index


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_trigram_search_indexes")]
    operations = [add_on_postgresql("orders.Order", trigram_index("number", "order_number_trgm_idx"))]
