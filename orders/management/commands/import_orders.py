"""python manage.py import_orders FILE

FILE holds one order object or a list of them (the spec's JSON format); `-` reads standard input.
Each order is imported all or nothing (new ones 250 per transaction); invalid ones are reported
on stderr as `order CCW-…: field: reason` and the others are still imported.

Exit status: 0 when every order was imported, updated or found unchanged; 1 when at least one
order was rejected; 2 when the file itself could not be read (nothing imported).
"""
import json
import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import translation

from orders import services, validation


class FileProblem(Exception):
    pass


def load_orders(path):
    """The list of raw orders in the file, or FileProblem with a message for the operator."""
    try:
        raw = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    except OSError as exc:
        raise FileProblem(f"{path}: cannot read the file: {exc.strerror or exc}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(f"{path}: not UTF-8 text (invalid byte at offset {exc.start})")
    try:
        data = validation.loads(text)
    except json.JSONDecodeError as exc:
        raise FileProblem(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
    except RecursionError:
        raise FileProblem(f"{path}: malformed JSON: nested too deeply")
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    raise FileProblem(f"{path}: expected an order object or a list of orders, "
                      f"got {type(data).__name__ if data is not None else 'null'}")


class Command(BaseCommand):
    help = "Import orders from a JSON file: one order object or a list of orders."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the JSON file; - reads standard input")
        parser.add_argument("--progress-every", type=int, default=1000, metavar="N",
                            help="show a progress line on stderr every N orders when the file "
                                 "holds more than N (default 1000; 0 turns it off)")

    def handle(self, *args, **options):
        # Operators' messages in the site's default language, whatever a caller left active.
        with translation.override(settings.LANGUAGE_CODE):
            return self._handle(**options)

    def _handle(self, *, file, progress_every, verbosity, **options):
        try:
            items = load_orders(file)
        except FileProblem as exc:
            self.stderr.write(str(exc))
            raise SystemExit(2)

        total = len(items)
        show_progress = progress_every > 0 and total > progress_every
        self._progress_width = 0
        counts = dict.fromkeys([services.CREATED, services.UPDATED, services.UNCHANGED,
                                services.KEPT, services.REJECTED], 0)
        importer = services.OrderImporter(source="import")
        for done, outcome in enumerate(importer.import_many(items), start=1):
            counts[outcome.status] += 1
            if outcome.status == services.REJECTED:
                self._clear_progress()
                self.stderr.write(outcome.describe())
            elif outcome.status != services.CREATED or verbosity >= 2:
                if verbosity >= 1:
                    self._clear_progress()
                    self.stdout.write(outcome.describe())
            if show_progress and (done % progress_every == 0 or done == total):
                self._progress(f"{done:,} / {total:,} orders processed")
        if self._progress_width:
            self.stderr.write("", style_func=str)

        unchanged = counts[services.UNCHANGED] + counts[services.KEPT]
        self.stdout.write(
            f"{file}: {total} order{'s' if total != 1 else ''}: {counts[services.CREATED]} imported, "
            f"{counts[services.UPDATED]} updated, {unchanged} unchanged, "
            f"{counts[services.REJECTED]} rejected")
        if counts[services.REJECTED]:
            raise SystemExit(1)

    def _progress(self, text):
        # One line rewritten in place (\r), like pip or rsync; a terminal shows it moving.
        self.stderr.write("\r" + text.ljust(self._progress_width), ending="", style_func=str)
        self.stderr.flush()
        self._progress_width = len(text)

    def _clear_progress(self):
        if self._progress_width:
            self.stderr.write("\r" + " " * self._progress_width + "\r", ending="", style_func=str)
            self._progress_width = 0
