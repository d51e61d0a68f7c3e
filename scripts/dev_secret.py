"""Create the development JWT secret, ./var/jwt_secret, unless it exists.

`make run` (scripts/run.sh) runs this before anything loads the configuration: outside
production, a missing JWT_SECRET_KEY is read from that file, and loading the configuration
never writes it. Usage: python scripts/dev_secret.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from supportapp.config import ensure_development_secret


def main() -> int:
    path = ensure_development_secret()
    print(f"development secret: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
