"""Shared test support: the provider contract battery."""
