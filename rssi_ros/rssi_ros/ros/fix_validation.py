"""Validation of sensor_msgs/NavSatFix: only usable fixes reach the model.

A receiver without a fix still publishes messages (status NO_FIX, often with zeros or NaN), and a
fix with a 50 m standard deviation would put the car on the wrong side of the road; both must be
rejected and counted rather than turned into a confident RSSI estimate. Works on any object with
the message's fields (rclpy or rosbags messages).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rssi_ros.ros import reasons
from rssi_ros.ros.reasons import InputError

# sensor_msgs/NavSatStatus and NavSatFix constants (copied as numbers so this module needs no ROS).
STATUS_UNKNOWN = -2  # Jazzy's default value of an unset status
STATUS_NO_FIX = -1
COVARIANCE_TYPE_UNKNOWN = 0


@dataclass(frozen=True)
class FixLimits:
    """What a usable fix is. `max_horizontal_std_m <= 0` disables the covariance check."""

    max_horizontal_std_m: float = 10.0
    accept_unknown_status: bool = True


@dataclass(frozen=True)
class Fix:
    """A validated fix: WGS84 degrees, metres (NaN altitude = unknown), stamp in nanoseconds."""

    lat: float
    lon: float
    alt: float
    stamp_ns: int
    horizontal_std_m: float = math.nan


def stamp_ns(stamp) -> int:
    """builtin_interfaces/Time as integer nanoseconds (exact; floats lose nanoseconds after 2**53)."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def check_fix(msg, limits: FixLimits) -> Fix:
    """A `Fix` of a NavSatFix message, or `InputError` saying why it cannot be used."""
    status = int(msg.status.status)
    if status == STATUS_NO_FIX or (status < STATUS_NO_FIX and not limits.accept_unknown_status):
        raise InputError(reasons.NO_FIX, f"receiver reports no fix (status {status})")
    lat, lon, alt = float(msg.latitude), float(msg.longitude), float(msg.altitude)
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise InputError(reasons.NON_FINITE, f"latitude/longitude not finite ({lat}, {lon})")
    if abs(lat) > 90.0 or abs(lon) > 180.0:
        raise InputError(reasons.OUT_OF_RANGE, f"latitude/longitude out of range ({lat}, {lon})")
    if math.isinf(alt):
        raise InputError(reasons.NON_FINITE, f"altitude is {alt} (NaN is allowed for unknown, inf is not)")
    std = math.nan
    if int(msg.position_covariance_type) != COVARIANCE_TYPE_UNKNOWN:
        cov = msg.position_covariance
        east_var, north_var = float(cov[0]), float(cov[4])
        if not (math.isfinite(east_var) and math.isfinite(north_var)) or east_var < 0 or north_var < 0:
            raise InputError(reasons.COVARIANCE, f"position covariance is invalid ({east_var}, {north_var})")
        std = math.sqrt(max(east_var, north_var))
        if limits.max_horizontal_std_m > 0 and std > limits.max_horizontal_std_m:
            raise InputError(
                reasons.COVARIANCE,
                f"horizontal std {std:.2f} m exceeds gps.max_horizontal_std_m={limits.max_horizontal_std_m}",
            )
    ns = stamp_ns(msg.header.stamp)
    if ns <= 0:
        raise InputError(reasons.ZERO_STAMP, "header stamp is unset (0); fixes are matched by stamp")
    return Fix(lat, lon, alt, ns, std)
