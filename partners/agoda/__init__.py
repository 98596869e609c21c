"""Agoda YCS5: provider, codec, simulator and setup."""
