from django.core.management.base import BaseCommand

from provisioning import jobs


class Command(BaseCommand):
    help = "Sends the deployment emails that are due now (what the beat task does), once."

    def handle(self, *args, **options):
        run = jobs.send_due_deployment_emails()
        for number in run.sent:
            self.stdout.write(f"sent     {number}")
        for number, error in run.failed:
            self.stdout.write(f"failed   {number}: {error} (retried with backoff)")
        self.stdout.write(f"{len(run.sent)} sent, {len(run.failed)} failed, "
                          f"{run.skipped} skipped (set up or closed), {run.batches} batch(es).")
