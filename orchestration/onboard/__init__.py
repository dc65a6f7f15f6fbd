"""Onboarding a client company: a drafted mapping from sample files, then one command per step
(validate, register, ingest, build, report) or `run` for all of them. See `cli.py` and the
README's "Onboard a client"."""
