"""Report tests reuse the contract-shaped warehouse builder of the quality tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "quality"))
