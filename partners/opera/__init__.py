"""OPERA Cloud (OHIP): a hotel's PMS over Oracle's property APIs."""
