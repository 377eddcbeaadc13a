"""A small server-rendered SVG bar chart (no script, no external service)."""
from orders.dates import long_date

WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 620, 170, 12, 30, 28


def daily_bars(days):
    """Geometry for the template: two bars a day (stalled, set up) scaled to the busiest day."""
    peak = max([max(d["stalled"], d["set_up"]) for d in days] + [1])
    plot = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / max(len(days), 1)
    bar = max(slot / 2 - 2, 1)
    bars = []
    for i, day in enumerate(days):
        x = LEFT + i * slot + 1
        for offset, key in ((0, "stalled"), (bar, "set_up")):
            h = round(day[key] / peak * plot, 1)
            bars.append({"x": round(x + offset, 1), "y": round(TOP + plot - h, 1), "w": round(bar, 1),
                         "h": h, "kind": key, "n": day[key], "day": day["day"]})
        day["label_x"] = round(x + bar, 1)
    labels = [days[i] for i in sorted({0, len(days) // 2, len(days) - 1})] if days else []
    return {"width": WIDTH, "height": HEIGHT, "bars": bars, "peak": peak, "base_y": TOP + plot,
            "left": LEFT, "top": TOP, "label_y": HEIGHT - 8,
            "labels": [{"x": d["label_x"], "text": long_date(d["day"])}
                       for d in labels],
            "stalled": sum(d["stalled"] for d in days), "set_up": sum(d["set_up"] for d in days),
            "reminded": sum(d.get("reminded", 0) for d in days)}
