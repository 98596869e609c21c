# Register your models here.
from . import admin_api  # noqa: F401
