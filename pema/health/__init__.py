"""Health endpoints for probes: ``/healthz/`` (liveness) and ``/readyz/`` (readiness).

``checks`` holds what is probed (database, cache, broker, and each partner
connection's last contact); ``middleware`` answers the two paths before the
rest of the stack. See the README's "Health checks".
"""
