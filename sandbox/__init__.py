"""The sandbox harness: every partner's simulator behind one HTTP server.

Simulators (``partners/<name>/simulator.py``) are registered by dotted path in
``PEMA_SANDBOX_SIMULATORS`` and served by ``manage.py runsandbox`` under
``/<partner>/``, with control at ``/_control/<partner>/``. See
:mod:`sandbox.server` for the routes and faults, :mod:`sandbox.simulator` for
what a simulator implements, :mod:`sandbox.store` for the state it keeps.
"""
