"""Backups, restores and clones of projects: see README "Backups"."""
