"""Recorded files, read-only: access (recorded), a file's chart history read in proportion to the
screen (overview), the follower (a file played to the viewer), the report behind `viper info`
(info) and the CSV behind `viper export` (export).
"""
