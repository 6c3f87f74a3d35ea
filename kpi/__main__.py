"""`python -m kpi`: the command line."""
from .cli import main

raise SystemExit(main())
