"""Test and example fixtures built offline from real diffusers classes (never imported by the worker)."""
