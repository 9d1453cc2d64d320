"""Physics of the link: geodesy (pyproj), dB conversions and the RSSI = -(PL + SH) decomposition."""

from rssi_ros.physics.db import db_to_linear, linear_to_db, mean_power_db
from rssi_ros.physics.geodesy import RelativePosition, geodesic_distance_m, relative_position
from rssi_ros.physics.labels import LabelDefinition, Labels, decompose, path_loss_db, recombine

__all__ = [
    "LabelDefinition",
    "Labels",
    "RelativePosition",
    "db_to_linear",
    "decompose",
    "geodesic_distance_m",
    "linear_to_db",
    "mean_power_db",
    "path_loss_db",
    "recombine",
    "relative_position",
]
