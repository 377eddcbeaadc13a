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


class SecurityHeadersMiddleware:
    """Content-Security-Policy on every response; setup pages send a referrer only to this site,
    so a token can never leak to another site through the Referer header. Not "no-referrer":
    under it browsers send `Origin: null` with a form POST, which Django's CSRF check refuses
    (every wizard step failed in a real browser)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        if request.path.startswith("/setup/"):
            response["Referrer-Policy"] = "same-origin"
            response["Cache-Control"] = "no-store"
        return response

