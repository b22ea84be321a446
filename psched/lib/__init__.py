"""Helpers shared by the apps. Imports no app (lint-imports checks it), so any app may use it."""
