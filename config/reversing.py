"""reverse() for URLs a page asks for again and again with one argument changing (each row of
the rep dashboard, each step of the service setup assistant): the URL is reversed once per
process with a mark where that argument goes, then the mark replaced. A reversal costs about as
much as a small template. The script prefix is in the key, since reverse() starts with it."""
import functools
import re

from django.urls import NoReverseMatch, get_script_prefix, reverse

_MARK = "0mark0"  # what no URL of the site holds otherwise
_PLAIN = re.compile(r"[A-Za-z0-9._-]+")  # written in a URL as is, by reverse() as by str()


@functools.lru_cache(maxsize=256)
def _pattern(_prefix, name, rest):
    try:
        url = reverse(name, args=[_MARK, *rest])
    except NoReverseMatch:  # a converter refusing the mark: reverse() decides below
        return None
    return url if url.count(_MARK) == 1 else None


def reverse_with(name, value, *rest):
    """`reverse(name, args=[value, *rest])`, the same URL, or the same NoReverseMatch."""
    value = str(value)
    pattern = _pattern(get_script_prefix(), name, rest)
    if pattern is None or not _PLAIN.fullmatch(value):
        return reverse(name, args=[value, *rest])
    return pattern.replace(_MARK, value)
