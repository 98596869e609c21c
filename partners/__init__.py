"""Partners: one folder per external system (provider, codec, simulator, setup, samples)."""
