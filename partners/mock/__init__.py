"""The mock PMS: deterministic generated data for development and demos, no HTTP."""
