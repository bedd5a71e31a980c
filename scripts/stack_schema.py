"""Writes (or with --check, verifies) schema/stack-config.schema.json from the settings models.

python scripts/stack_schema.py          # regenerate after changing components/stack_config.py
python scripts/stack_schema.py --check  # exit 1 if the committed file is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.stack_config import stack_file_schema  # noqa: E402

SCHEMA_FILE = ROOT / "schema" / "stack-config.schema.json"


def render() -> str:
    """The schema file's exact text."""
    return json.dumps(stack_file_schema(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is not current")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = SCHEMA_FILE.read_text() if SCHEMA_FILE.exists() else ""
        if current != text:
            print(f"{SCHEMA_FILE.relative_to(ROOT)} is stale: run python scripts/stack_schema.py")
            return 1
        return 0
    SCHEMA_FILE.parent.mkdir(exist_ok=True)
    SCHEMA_FILE.write_text(text)
    print(f"wrote {SCHEMA_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
