"""Folder trust: which workspaces the user trusts, for exactly which content.

A workspace's ``.hermes/config.yaml`` (and its ``.hermes/commands/`` and
``.hermes/agents/``) comes with the folder, not from the user. Trust is recorded per
real path and per content hash in ``$HERMES_HOME/trust.json``; any change to that
content (by the model, a ``git pull``, anyone) makes the folder untrusted again until
the user says so. :mod:`hermes.config` decides what an untrusted layer may still do.
"""
