"""VIPER: Vacuum Ionisation Pressure Extraction Reporter.

Reads a Kurt J. Lesker KJLC 392 (InstruTech IGM402) ionization gauge controller over RS485
and records every sample to HDF5.
"""

__version__ = "0.1.0"
