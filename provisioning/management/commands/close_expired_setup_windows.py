from django.core.management.base import BaseCommand

from provisioning import jobs


class Command(BaseCommand):
    help = "Closes the orders whose setup window has ended (their links then say 'expired')."

    def handle(self, *args, **options):
        ids = jobs.close_expired_setup_windows()
        self.stdout.write(f"{len(ids)} order(s) closed.")
