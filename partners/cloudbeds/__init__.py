"""Cloudbeds PMS (API v1.3): provider, simulator, setup."""
