"""The web app (issue 8): accounts, sessions and the pages each role may see."""
