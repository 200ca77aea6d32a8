"""Code-family passes: each chooses codes and units for one family of services."""
