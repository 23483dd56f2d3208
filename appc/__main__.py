"""``python -m appc`` runs the ``appc`` command."""

from appc.cli import main


raise SystemExit(main())
