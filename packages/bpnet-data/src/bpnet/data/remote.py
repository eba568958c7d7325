"""Local paths and http(s) URLs: bpnet-data uses bpnet-core's download cache.

See :mod:`bpnet.core.remote` (streamed downloads with retries and a timeout, cached,
written atomically).
"""

from bpnet.core.remote import cache_dir, cached_location, is_url, localize

__all__ = ["cache_dir", "cached_location", "is_url", "localize"]
