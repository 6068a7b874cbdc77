#!/usr/bin/env python
"""The benchmark's baseline: untouched django-oauth-toolkit and a hello view (see baseline_project)."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baseline_project.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
