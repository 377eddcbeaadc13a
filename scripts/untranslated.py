#!/usr/bin/env python
"""List the msgids without French in every catalogue: `python scripts/untranslated.py`."""
import glob

import polib

for path in sorted(glob.glob("locale/fr/LC_MESSAGES/*.po") + glob.glob("*/locale/fr/LC_MESSAGES/*.po")):
    po = polib.pofile(path)
    for entry in po.untranslated_entries() + po.fuzzy_entries():
        print(f"{path}\t{entry.msgid!r}" + (f"\tplural={entry.msgid_plural!r}" if entry.msgid_plural else ""))
