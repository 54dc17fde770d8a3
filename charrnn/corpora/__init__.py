"""Corpora: reading and checking uploads, the built-in corpora, downloads."""
