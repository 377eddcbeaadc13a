#!/usr/bin/env python
"""Fill empty French msgstrs from a TSV of `English<TAB>Français` lines.

    python scripts/fill_fr.py my-strings.tsv     # fills every catalogue, keeps existing translations
"""
import glob
import sys

import polib

pairs = {}
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        if "\t" in line:
            en, fr = line.rstrip("\n").split("\t", 1)
            pairs[en.replace("\\n", "\n")] = fr.replace("\\n", "\n")
filled = 0
for path in glob.glob("locale/fr/LC_MESSAGES/django.po") + glob.glob("*/locale/fr/LC_MESSAGES/django.po"):
    po = polib.pofile(path, wrapwidth=0)
    for entry in po:
        if entry.msgid in pairs and (not entry.msgstr or entry.fuzzy) and not entry.msgid_plural:
            entry.msgstr = pairs[entry.msgid]
            if entry.fuzzy:
                entry.flags.remove("fuzzy")
            filled += 1
    po.save()
print(f"filled {filled} translations")
