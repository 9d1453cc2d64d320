"""ROS messages out of the pure results: `RssiEstimate`, `DiagnosticArray`, the debug `Image`."""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from numpy.typing import NDArray
from sensor_msgs.msg import Image

from rssi_ros.ros.diagnostics import DiagnosticsSnapshot
from rssi_ros.ros.frame_processor import Outcome
from rssi_ros.ros.sync import NS
from rssi_ros_msgs.msg import RssiEstimate


def time_msg(stamp_ns: int) -> Time:
    return Time(sec=int(stamp_ns // NS), nanosec=int(stamp_ns % NS))


def estimate_msg(outcome: Outcome, stamp_ns: int, frame_id: str, processing_ms: float) -> RssiEstimate:
    """The estimate of one frame; the header carries the image's stamp so bag timestamps survive."""
    e = outcome.estimate
    msg = RssiEstimate()
    msg.header.stamp = time_msg(stamp_ns)
    msg.header.frame_id = frame_id
    msg.rssi_db = float(e.rssi_db)
    msg.path_loss_db = float(e.path_loss_db)
    msg.shadow_fading_db = float(e.shadow_fading_db)
    msg.path_loss_exponent = float(e.path_loss_exponent)
    msg.distance_m = float(e.distance_m)
    msg.east_m = float(e.east_m)
    msg.north_m = float(e.north_m)
    msg.tx_in_view = bool(e.tx_in_view)
    msg.tx_selection = int(outcome.choice.selection) if e.tx_in_view else RssiEstimate.TX_SELECTION_NONE
    msg.num_boxes = int(e.num_boxes)
    msg.modalities = int(e.modalities)
    msg.model_id = str(e.model_id)
    msg.backend = str(e.backend)
    msg.processing_time_ms = float(processing_ms)
    return msg


def diagnostics_msg(
    snapshot: DiagnosticsSnapshot, name: str, hardware_id: str, stamp: Time
) -> DiagnosticArray:
    status = DiagnosticStatus(
        level=bytes([snapshot.level]),
        name=name,
        message=snapshot.message,
        hardware_id=hardware_id,
        values=[KeyValue(key=k, value=v) for k, v in snapshot.values],
    )
    arr = DiagnosticArray()
    arr.header.stamp = stamp
    arr.status = [status]
    return arr


def rgb_image_msg(rgb: NDArray[np.uint8], stamp_ns: int, frame_id: str) -> Image:
    msg = Image()
    msg.header.stamp = time_msg(stamp_ns)
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding = "rgb8"
    msg.step = msg.width * 3
    msg.data = np.ascontiguousarray(rgb).tobytes()
    return msg
