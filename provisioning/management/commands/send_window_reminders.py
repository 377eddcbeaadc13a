from django.core.management.base import BaseCommand

from provisioning import jobs


class Command(BaseCommand):
    help = ("Reminds, once, each order's installer and rep a few days before its setup window "
            "closes.")

    def handle(self, *args, **options):
        numbers = jobs.send_window_reminders()
        for number in numbers:
            self.stdout.write(f"window closing  {number}")
        self.stdout.write(f"{len(numbers)} order(s) reminded that their setup window closes soon.")
