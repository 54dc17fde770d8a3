"""The widgets and helpers every page shares (pages/ holds the pages themselves)."""
