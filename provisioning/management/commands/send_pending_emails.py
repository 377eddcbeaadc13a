from django.core.management.base import BaseCommand

from provisioning import jobs


class Command(BaseCommand):
    help = "Delivers the outbox emails that are due (what the beat sweep does), once."

    def handle(self, *args, **options):
        result = jobs.send_pending_emails()
        self.stdout.write(f"{result['sent']} sent, {result['failed']} failed (retried with backoff).")
