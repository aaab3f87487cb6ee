#!/usr/bin/env python3
# Makes JWS compact tokens for the JWT tests with an implementation independent of odmd's:
# Python's hmac and the `cryptography` package (Debian: python3-cryptography).
#
#   jwt_mint.py SPECS.json     prints {"NAME": "TOKEN", ...}
#
# SPECS.json is an array of {"name", "header" (object), "claims" (object) or "payload" (raw
# text), "sign": "HS256" | "RS256" | "ES256" | "ES256-DER" | "none", and for HS256 "secret"
# (text) or "secret_file" (its bytes are the secret: the public-key confusion attack), for
# RS256/ES256 "key_file" (a PEM private key)}. ES256 signs r || s (RFC 7518 3.4); ES256-DER
# sends the DER form instead, which a verifier must refuse.
import base64
import hashlib
import hmac
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def sign(spec: dict, data: bytes) -> bytes:
    how = spec["sign"]
    if how == "none":
        return b""
    if how == "HS256":
        key = spec["secret"].encode() if "secret" in spec else read(spec["secret_file"])
        return hmac.new(key, data, hashlib.sha256).digest()
    key = serialization.load_pem_private_key(read(spec["key_file"]), password=None)
    if how == "RS256":
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    der = key.sign(data, ec.ECDSA(hashes.SHA256()))
    if how == "ES256-DER":
        return der
    r, s = utils.decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def mint(spec: dict) -> str:
    header = json.dumps(spec["header"], separators=(",", ":")).encode()
    if "payload" in spec:
        payload = spec["payload"].encode()
    else:
        payload = json.dumps(spec["claims"], separators=(",", ":")).encode()
    signing_input = b64url(header) + "." + b64url(payload)
    return signing_input + "." + b64url(sign(spec, signing_input.encode("ascii")))


def main() -> int:
    specs = json.loads(read(sys.argv[1]))
    json.dump({s["name"]: mint(s) for s in specs}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
