import sys

from osmose_dagster.cli.main import main

sys.exit(main())
