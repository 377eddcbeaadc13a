from django.core.management.base import BaseCommand

from provisioning import jobs


class Command(BaseCommand):
    help = "Flags orders not set up one day after their start date and tells their reps, once."

    def handle(self, *args, **options):
        run = jobs.flag_stalled_provisioning()
        for number in run.flagged:
            self.stdout.write(f"stalled  {number}")
        self.stdout.write(f"{len(run.flagged)} order(s) flagged stalled, "
                          f"{run.reps_emailed} rep email(s) queued.")
