"""VIPER's own alarms: limits on the readings, their state machine, their events and actions.

The recorder feeds it (recording/recorder.py calls watch.Watch once per sample); it knows no user
interface. settings parses the `[Alarm NAME]` sections, engine is the pure state machine, texts
words the events, actions runs commands and notifications off the recorder's path, restore reads
the last state back from a file's events, watch ties them together for the recorder.
"""
