import sys

from orchestration.onboard.cli import main

sys.exit(main())
