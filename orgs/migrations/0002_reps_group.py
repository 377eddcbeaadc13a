from django.db import migrations

REPS_GROUP = "Account representatives"
# Reps read orders and provisioning, and may change provisioning (resend, contact, re-open).
PERMS = [
    ("orders", "view_order"), ("orders", "view_orderline"),
    ("provisioning", "view_provisioning"), ("provisioning", "change_provisioning"),
    ("provisioning", "view_event"), ("provisioning", "view_setuplink"),
    ("provisioning", "view_outboundemail"), ("orgs", "view_organization"),
]


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=REPS_GROUP)
    for app_label, codename in PERMS:
        perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if perm:
            group.permissions.add(perm)


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0001_initial"),
        ("orders", "0001_initial"),
        ("provisioning", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
