import re

# No inline scripts or styles anywhere: every asset is a file served by the site.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


TOKEN_URL = re.compile(r"^/setup/[A-Za-z0-9_-]{32,100}/$")


class SecurityHeadersMiddleware:
    """Content-Security-Policy on every response. A URL that carries a setup token sends no
    referrer at all (it only redirects, or shows a page without forms); the other setup pages
    send a referrer only to this site, so nothing under /setup/ leaks to another site. Not
    "no-referrer" on the wizard's pages: under it browsers send `Origin: null` with a form POST,
    which Django's CSRF check refuses (every wizard step failed in a real browser)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        if request.path.startswith("/setup/"):
            response["Referrer-Policy"] = ("no-referrer" if TOKEN_URL.match(request.path)
                                           else "same-origin")
            response["Cache-Control"] = "no-store"
        return response

