#!/usr/bin/env python
import sys

if __name__ == "__main__":
    from psched.startup import settings_load

    settings_load()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
