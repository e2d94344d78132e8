"""The serial link to one gauge: transport (the port), client (samples and commands), detection
(which format and rate), actions (what users do at the gauge) and opening (all of it, from [Serial]).
"""
