"""The HTTP edge: BentoML service, request/response schemas, model resolution, error format."""
