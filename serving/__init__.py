"""The HTTP edge: BentoML service, request/response schemas, model resolution, error format."""

# Marks this package as capcast's own: capcast checks it at start (capcast/packages.py).
__distribution__ = "capcast"
