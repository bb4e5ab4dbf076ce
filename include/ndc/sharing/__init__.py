"""Sharing: what the national data center gives agencies, on which legal basis, and how.

- :mod:`ndc.sharing.registry`: the sharing registry (`include/sharing/<product>.yaml`), one
  data product per file, validated against the data dictionary;
- :mod:`ndc.sharing.fields`: the citizen facts the lookup service can serve;
- :mod:`ndc.sharing.keys`: the agencies' API keys (salted hashes in the warehouse);
- :mod:`ndc.sharing.audit`: ``ops.access_log``, every lookup allowed or refused;
- :mod:`ndc.sharing.ratelimit`: a token bucket per agency;
- :mod:`ndc.sharing.service`: the once-only lookup service (``ndc serve``, FastAPI).
"""
