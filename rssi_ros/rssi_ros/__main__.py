"""`python -m rssi_ros <command>`."""

import sys

from rssi_ros.cli import main

if __name__ == "__main__":
    sys.exit(main())
