"""The exchange's own web pages: the live market page at / and its login."""
