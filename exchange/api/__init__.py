"""The trader REST API under /api/v1 (django-ninja), and its fast order-entry path.

See docs/adr/0004-api-auth-and-serving.md for how requests are signed and why
`POST /orders` has a lean WSGI path beside the ninja view.
"""
