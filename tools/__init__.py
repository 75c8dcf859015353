"""Build helpers of the project (not part of the package): see tools/binaries.py."""
