"""Trigram indexes for the admin's user and organisation search by fragment (a user or an org per
person and customer: large tables too; config/search_indexes.py)."""
from django.db import migrations

from config.search_indexes import trigram_indexes


class Migration(migrations.Migration):
    dependencies = [("orgs", "0003_user_language")]
    operations = [
        trigram_indexes("orgs_user", {"user_email_trgm_idx": "email",
                                      "user_full_name_trgm_idx": "full_name"}),
        trigram_indexes("orgs_organization", {"org_name_trgm_idx": "name",
                                              "org_external_id_trgm_idx": "external_id",
                                              "org_subdomain_trgm_idx": "subdomain"}),
    ]
