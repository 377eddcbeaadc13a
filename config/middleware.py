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
    """Content-Security-Policy on every response; setup pages also send no referrer,
    so a token can never leak to another site through the Referer header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        if request.path.startswith("/setup/"):
            response["Referrer-Policy"] = "no-referrer"
            response["Cache-Control"] = "no-store"
        return response

