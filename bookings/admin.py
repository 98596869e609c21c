# Register your models here.
from . import admin_api  # noqa: E402, F401
