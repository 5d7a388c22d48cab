"""Optional integrations with engines a host already runs: :mod:`bms_xero.integrations.celery`.

Each integration sits on top of the core (it imports :mod:`bms_xero.jobs` and the engine, never
the reverse) and comes with its own extra, so the core keeps its three dependencies:

- :mod:`bms_xero.integrations.celery` (extra ``celery``): background jobs run by the host's own
  Celery workers, routed per organisation, with the job store as the record of every job.

Importing this package imports no integration; import the one you use.
"""

__all__: list[str] = []
