"""The KJLC 392's protocols: bytes in, typed results out, no I/O.

facts (formats, units, rates, thresholds, reply types), ascii_codec, binary_codec. Imports nothing
else of VIPER.
"""
