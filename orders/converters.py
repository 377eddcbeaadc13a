"""Order numbers in URLs. A number may hold slashes (orders/validation.py: "CCW/2026/7"), which
`<str:…>` refuses, so no page of such an order could be linked, and the rep dashboard listing one
failed whole. In a URL each slash is written `~`, a character numbers never hold, so that
`/setup/orders/CCW~2026~7/done/` still has one reading."""
from django.urls import register_converter


class OrderNumberConverter:
    regex = r"[A-Za-z0-9][A-Za-z0-9._~-]*"

    def to_python(self, value):
        return value.replace("~", "/")

    def to_url(self, value):
        return str(value).replace("/", "~")


def register():
    register_converter(OrderNumberConverter, "order")
