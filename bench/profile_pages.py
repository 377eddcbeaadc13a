"""Where a partner page's time goes, in-process: Python calls per request (steady whatever the
neighbours do) and cProfile's share of each part, for the pages bench/bench_wizard.py measures.

    .venv/bin/python bench/profile_pages.py [--requests 40]

Not part of `make bench`; bench/NOTES.md quotes it before and after a change.
"""
import argparse
import cProfile
import os
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

# (part, [(file suffix, function)]): a part's share is the cumulative time of its functions.
PARTS = [
    ("link look-up", [("onboarding/access.py", "link_in_session")]),
    ("step conditions", [("formtools/wizard/views.py", "get_form_list")]),
    ("templates", [("template/response.py", "render"), ("django/shortcuts.py", "render")]),
    ("SQL (compile, run, models)", [("models/query.py", "_fetch_all")]),
    ("session load", [("sessions/backends/db.py", "load")]),
]


def pages():
    from django.test import Client

    from bench import bench_wizard as bw
    from bench.wsgi import StockClientHandler

    (order, token), (done_order, done_token) = bw.setup_links(2)
    done_session, installer = bw.walk_to_done(done_order, done_token)
    step = bw.service_step_of(done_order)
    wizard = Client()
    wizard.get(f"/setup/{token}/")
    url = f"/setup/orders/{order.number}/"
    done, service, textbook = Client(), Client(), Client()
    done.cookies["sessionid"] = done_session
    service.cookies["sessionid"] = bw.signed_in_session(installer)
    textbook.handler = StockClientHandler(enforce_csrf_checks=False)
    textbook.post("/bench/textbook/", {"name": "Inès", "email": "ines@example.com"})
    service_url = f"/orders/{done_order.number}/services/{step}/"
    return [
        ("textbook GET (the floor)", textbook.get, ("/bench/textbook/",)),
        ("wizard GET, role step", wizard.get, (url,)),
        ("wizard POST, role → installer", wizard.post,
         (url, {f"setup_{order.pk}-current_step": "role", "role-role": "partner"})),
        ("wizard GET, installer step", wizard.get, (url,)),
        ("done page GET", done.get, (f"/setup/orders/{done_order.number}/done/",)),
        (f"service setup GET, {step} step", service.get, (service_url,)),
        (f"service setup POST, {step} step", service.post, (service_url, bw.CALLING_POST)),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    os.environ["BENCH_VIEWS"] = "1"
    common.start()
    for name, call, call_args in pages():
        call(*call_args)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            call(*call_args)
        profiler.disable()
        stats = pstats.Stats(profiler).stats
        total = max(ct for (path, _, func), (_, _, _, ct, _) in stats.items()
                    if func == "request" and path.endswith("test/client.py"))
        shares = []
        for part, functions in PARTS:
            cumulative = max((ct for (path, _, func), (_, _, _, ct, _) in stats.items()
                              if any(path.endswith(f) and func == fn for f, fn in functions)),
                             default=0)
            if cumulative:
                shares.append(f"{part} {100 * cumulative / total:.0f} %")
        calls = sum(nc for _, nc, _, _, _ in stats.values()) / args.requests
        print(f"{name}: {calls:,.0f} Python calls/request; " + ", ".join(shares), flush=True)


if __name__ == "__main__":
    main()
