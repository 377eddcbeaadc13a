#!/usr/bin/env python
"""Compile every French catalogue to .mo with polib, so `make run` needs no gettext package."""
import glob

import polib

for path in glob.glob("locale/*/LC_MESSAGES/*.po") + glob.glob("*/locale/*/LC_MESSAGES/*.po"):
    polib.pofile(path).save_as_mofile(path[:-3] + ".mo")
