"""Integrations of bms_xero with web frameworks (optional extras, e.g. ``bms-xero[django]``).

Each subpackage imports its framework only when used, so ``import bms_xero`` never needs one.
"""
