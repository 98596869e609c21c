"""Project-wide signals, so apps can react to each other without importing each other."""

from django.dispatch import Signal

#: Sent after a restore has committed (``labels``: the models restored). Anything
#: that keeps derived state outside the database (caches) should drop it.
database_restored = Signal()
