"""``python -m automation``: the same command line as ``supabase-fleet``."""

from automation.cli import main

raise SystemExit(main())
