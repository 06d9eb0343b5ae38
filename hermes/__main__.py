"""``python -m hermes`` runs the CLI."""

from __future__ import annotations

from hermes.cli.main import main

raise SystemExit(main())
