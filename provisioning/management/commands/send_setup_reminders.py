from django.core.management.base import BaseCommand

from provisioning import jobs


class Command(BaseCommand):
    help = ("Reminds, once, each deployment contact who has not begun the setup about a day after "
            "their email, with a fresh link.")

    def handle(self, *args, **options):
        numbers = jobs.send_setup_reminders()
        for number in numbers:
            self.stdout.write(f"reminded  {number}")
        self.stdout.write(f"{len(numbers)} setup reminder(s) queued.")
