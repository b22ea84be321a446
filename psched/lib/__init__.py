"""Helpers shared by the apps; imports no app."""
