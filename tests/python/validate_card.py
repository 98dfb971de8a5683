#!/usr/bin/env python3
"""Validate Adaptive Card JSON files against the Adaptive Card JSON Schema.

Usage: validate_card.py SCHEMA CARD.json [CARD.json ...]

Uses jsonschema's Draft6Validator (the schema is draft-06). Prints one line per
card: "valid", or its most specific problem with the path inside the card.
Exits 1 when any card is invalid, 0 when all are valid.
"""

import json
import sys

import jsonschema
import jsonschema.exceptions


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft6Validator.check_schema(schema)
    validator = jsonschema.Draft6Validator(schema)
    failed = False
    for path in argv[2:]:
        with open(path, encoding="utf-8") as f:
            card = json.load(f)
        # best_match descends into anyOf branches to the most specific problem.
        error = jsonschema.exceptions.best_match(validator.iter_errors(card))
        if error is None:
            print(f"{path}: valid")
            continue
        failed = True
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        print(f"{path}: {where}: {error.message[:300]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
