"""Trigram indexes for the admin's user and organisation search by fragment (a user or an org per
person and customer: large tables too; config/search_indexes.py)."""
from django.db import migrations

from config.search_indexes import add_on_postgresql, trigram_index


class Migration(migrations.Migration):
    # pg_trgm comes from the orders migration (TrigramExtension): one place creates it, and
    # unapplying goes through these indexes before it drops the extension.
    dependencies = [("orgs", "0003_user_language"), ("orders", "0004_trigram_search_indexes")]
    operations = [
        add_on_postgresql("orgs.User", trigram_index("email", "user_email_trgm_idx"),
                          trigram_index("full_name", "user_full_name_trgm_idx")),
        add_on_postgresql("orgs.Organization", trigram_index("name", "org_name_trgm_idx"),
                          trigram_index("external_id", "org_external_id_trgm_idx"),
                          trigram_index("subdomain", "org_subdomain_trgm_idx")),
    ]
