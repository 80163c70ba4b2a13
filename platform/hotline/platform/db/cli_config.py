"""``TORTOISE_ORM`` for Tortoise's own CLI.

``tortoise -c hotline.platform.db.cli_config.TORTOISE_ORM makemigrations``
"""

from hotline.platform.db.config import tortoise_config
from hotline.platform.settings import get_settings

TORTOISE_ORM = tortoise_config(get_settings(), url=get_settings().database_url, app_scoped=False)
