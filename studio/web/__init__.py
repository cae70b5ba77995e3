"""QtWebEngine: the sandboxed artifact profile, URL scheme, interceptor and page."""
