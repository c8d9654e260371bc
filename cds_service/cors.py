"""Which web pages may call the service from a browser (CORS), from ``CDS_CORS_ORIGINS``.

An origin is ``scheme://host`` with an optional ``:port``; ``:*`` stands for any port (or
none), which is how the default lets a developer's local tools on http://localhost:NNNN in.
Every entry is compiled to an anchored, case-insensitive pattern here, so flask-cors never
guesses whether a string is a regular expression and a prefix such as
``https://sandbox.cds-hooks.org.evil.example`` can never match.
"""
from __future__ import annotations

import re

from flask import Flask
from flask_cors import CORS

_ORIGIN = re.compile(r"^(https?)://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:(\d{1,5}|\*))?$", re.IGNORECASE)


def origin_problem(origin: str) -> str | None:
    """None when ``origin`` is a usable CDS_CORS_ORIGINS entry, else what is wrong with it."""
    if origin == "*":
        return "'*' would let any web page drive the service (and the FHIR calls it makes); list the origins"
    if not _ORIGIN.match(origin):
        return f"{origin!r} is not an origin such as https://ehr.example.org, http://localhost:3000 or http://localhost:*"
    return None


def pattern(origin: str) -> re.Pattern:
    """The anchored pattern one entry allows; ``:*`` allows any port or none."""
    if origin.endswith(":*"):
        return re.compile(re.escape(origin[:-2]) + r"(:\d{1,5})?\Z", re.IGNORECASE)
    return re.compile(re.escape(origin) + r"\Z", re.IGNORECASE)


def install(app: Flask, origins: tuple[str, ...]) -> None:
    """Answer preflights without a token and put CORS headers on every response to an allowed
    origin, errors included (flask-cors runs after the error handlers); WWW-Authenticate is
    exposed so a browser client can read why a 401 happened. Nothing when no origin is allowed."""
    if not origins:
        return
    CORS(app, origins=[pattern(o) for o in origins], allow_headers=["Authorization", "Content-Type"],
         expose_headers=["WWW-Authenticate"], methods=["GET", "POST", "OPTIONS"], max_age=600)
