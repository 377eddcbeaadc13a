"""A small server-rendered SVG bar chart (no script, no external service)."""
from django.utils.translation import gettext

from orders.dates import long_date

WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 620, 170, 12, 30, 28


KINDS = (("stalled", "#d4371c"), ("set_up", "#1d805f"))


def daily_bars(days):
    """Geometry for the template: two bars a day (stalled, set up) scaled to the busiest day; a
    day without any is not drawn. Each bar carries its colour and its tooltip."""
    peak = max([max(d["stalled"], d["set_up"]) for d in days] + [1])
    plot = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / max(len(days), 1)
    bar = max(slot / 2 - 2, 1)
    names = {"stalled": gettext("stalled"), "set_up": gettext("set up")}
    bars = []
    for i, day in enumerate(days):
        x = LEFT + i * slot + 1
        written = None
        for (key, fill), offset in zip(KINDS, (0, bar)):
            n = day[key]
            if not n:
                continue
            written = written or long_date(day["day"])
            h = round(n / peak * plot, 1)
            bars.append({"x": round(x + offset, 1), "y": round(TOP + plot - h, 1), "w": round(bar, 1),
                         "h": h, "fill": fill, "title": f"{written}: {n} {names[key]}"})
        day["label_x"] = round(x + bar, 1)
    labels = [days[i] for i in sorted({0, len(days) // 2, len(days) - 1})] if days else []
    return {"width": WIDTH, "height": HEIGHT, "bars": bars, "peak": peak, "base_y": TOP + plot,
            "left": LEFT, "top": TOP, "label_y": HEIGHT - 8,
            "labels": [{"x": d["label_x"], "text": long_date(d["day"])}
                       for d in labels],
            "stalled": sum(d["stalled"] for d in days), "set_up": sum(d["set_up"] for d in days),
            "reminded": sum(d.get("reminded", 0) for d in days)}
