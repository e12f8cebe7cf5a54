"""The policy pack directory, served by `__main__.py`; a package only so type checkers see one `__main__`."""
