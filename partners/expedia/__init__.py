"""Expedia QuickConnect (EQC): AR, BR and BC."""
