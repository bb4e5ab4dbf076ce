"""ndc: consolidate sectoral and local data into the national data center's warehouse."""

__version__ = "0.1.0"
