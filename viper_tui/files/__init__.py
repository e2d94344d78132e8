"""Recorded files, read-only: access (recorded), the follower (a file played to the viewer), the
report behind `viper info` (info) and the CSV behind `viper export` (export).
"""
