"""Production: everything in config.settings plus HTTPS-only cookies and HSTS.
SECRET_KEY, ALLOWED_HOSTS and SITE_URL must come from the environment."""
from .settings import *  # noqa: F401,F403
from django.core.exceptions import ImproperlyConfigured

from .settings import DEV_SECRET_KEY, env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")  # no default: a missing key is a start-up error
if SECRET_KEY == DEV_SECRET_KEY:  # whatever ALLOW_DEV_SECRET_KEY says: this is production
    raise ImproperlyConfigured("SECRET_KEY is the public development key; set a long random one.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "config.storage.StaticFilesStorage"},
}
