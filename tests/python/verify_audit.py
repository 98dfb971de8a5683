#!/usr/bin/env python3
"""Independent verifier for gate audit logs, written from docs/audit-format.md.

Usage: verify_audit.py LOG.sqlite PUBKEY.pem

Prints "ok: N records" and exits 0 when the whole log verifies; prints
"record SEQ: reason" for the first bad record and exits 1; exits 2 when the log
or key cannot be read. Uses only the standard library and `cryptography`.
"""

import hashlib
import json
import pathlib
import sqlite3
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

PREFIX = b"gate-audit-v1\n"
GENESIS = "0" * 64
HEX = set("0123456789abcdefABCDEF")


class Bad(Exception):
    """The current record fails verification; the message is the reason."""


def load_key(path):
    with open(path, "rb") as f:
        key = load_pem_public_key(f.read())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def as_bytes(cell):
    if isinstance(cell, bytes):
        return cell
    if isinstance(cell, str):
        return cell.encode("utf-8")
    raise Bad("signed body is missing")


def check_seq(seq, expected):
    if seq == expected:
        return
    if seq > expected and expected == 1:
        raise Bad(f"log starts at record {seq}, not 1 (first records deleted?)")
    if seq > expected:
        raise Bad(f"sequence gap after {expected - 1} (records deleted?)")
    raise Bad(f"sequence number {seq} out of order")


def check_signature(key, body, signature):
    if not isinstance(signature, str) or len(signature) != 128 or not set(signature) <= HEX:
        raise Bad("signature column is not 128 hex digits")
    raw = bytes.fromhex(signature)
    try:
        key.verify(raw, body)
    except InvalidSignature:
        raise Bad("signature does not verify (edited, or signed by another key?)")
    return raw


def parse_body(body):
    if not body.startswith(PREFIX):
        raise Bad('signed bytes do not start with "gate-audit-v1\\n"')
    try:
        parsed = json.loads(body[len(PREFIX):].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise Bad(f"signed body is not a v1 record ({err})")
    if not isinstance(parsed, dict) or parsed.get("v") != 1:
        raise Bad("signed body is not a version 1 record")
    return parsed


def check_position(parsed, seq, prev):
    if parsed.get("seq") != seq:
        raise Bad(f"signed sequence number is {parsed.get('seq')} (record moved or copied?)")
    if parsed.get("prev_hash") != prev:
        if seq == 1:
            raise Bad("previous-hash of the first record is not the genesis value")
        raise Bad(f"previous-hash mismatch (record {seq - 1} deleted or reordered?)")


def check_columns(parsed, columns):
    requester = parsed.get("requester") or {}
    signed = {
        "time": parsed.get("time"),
        "kind": parsed.get("kind"),
        "user": requester.get("user") if isinstance(requester, dict) else None,
        "decision": parsed.get("decision"),
    }
    for name, value in columns.items():
        if value != signed[name]:
            raise Bad(f"column `{name}` differs from the signed record (edited?)")


def check_optional_fields(parsed):
    """Keys a record carries only when set (docs/audit-format.md)."""
    if "policy_version" in parsed:
        version = parsed["policy_version"]
        if not isinstance(version, str) or len(version) != 64 or not set(version) <= HEX:
            raise Bad("policy_version is not 64 hex digits")
    if "ci_identity" in parsed:
        identity = parsed["ci_identity"]
        if not isinstance(identity, dict) or not all(
            isinstance(identity.get(k), str) for k in ("issuer", "subject", "system")
        ):
            raise Bad("ci_identity lacks its issuer, subject or system")


def check_row(key, row, expected, prev):
    seq, time, kind, user, decision, body, signature, stored_hash = row
    check_seq(seq, expected)
    body = as_bytes(body)
    raw_signature = check_signature(key, body, signature)
    record_hash = hashlib.sha256(body + raw_signature).hexdigest()
    if stored_hash != record_hash:
        raise Bad("stored hash does not match the signed record (hash column edited?)")
    parsed = parse_body(body)
    check_position(parsed, seq, prev)
    check_columns(parsed, {"time": time, "kind": kind, "user": user, "decision": decision})
    check_optional_fields(parsed)
    return record_hash


def verify(log_path, key):
    """Return (count, None) when intact, or (count, 'record N: reason')."""
    if not pathlib.Path(log_path).is_file():
        raise OSError(f"no audit log at {log_path}")
    uri = pathlib.Path(log_path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        rows = conn.execute(
            "SELECT seq, time, kind, user, decision, body, signature, hash "
            "FROM records ORDER BY seq"
        )
        count, expected, prev = 0, 1, GENESIS
        for row in rows:
            try:
                prev = check_row(key, row, expected, prev)
            except Bad as bad:
                return count, f"record {row[0]}: {bad}"
            count, expected = count + 1, row[0] + 1
        return count, None
    finally:
        conn.close()


def main(argv):
    if len(argv) != 3:
        print("usage: verify_audit.py LOG.sqlite PUBKEY.pem", file=sys.stderr)
        return 2
    try:
        key = load_key(argv[2])
        count, problem = verify(argv[1], key)
    except (OSError, ValueError, sqlite3.Error) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if problem:
        print(problem)
        return 1
    print(f"ok: {count} records")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
