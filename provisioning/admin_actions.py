"""Admin actions on orders that change provisioning (resend, change contact, re-open).
orders/admin.py adds ORDER_ACTIONS to the Order changelist."""

ORDER_ACTIONS: list = []
