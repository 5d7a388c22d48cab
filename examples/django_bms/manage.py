#!/usr/bin/env python
"""The example BMS's manage.py: ``python manage.py migrate``, ``seed_bms``, ``runserver``."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bms_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
