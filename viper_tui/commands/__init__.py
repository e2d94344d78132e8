"""The command line: argv in, exit codes and stdout/stderr out; the only place that prints.

One module per command: record (`viper` itself, which also dispatches the others), info, export,
view, gauge; console is the headless front end, exits the shared exit codes.
"""
