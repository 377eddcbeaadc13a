from django import template

from orders import dates

register = template.Library()
register.filter("long_date", dates.long_date, expects_localtime=True)
register.filter("long_datetime", dates.long_datetime, expects_localtime=True)
