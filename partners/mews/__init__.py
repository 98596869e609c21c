"""Mews (Connector API): provider, simulator, setup."""
