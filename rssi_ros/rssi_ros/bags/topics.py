"""Topic names and message types of the bags: the node's default topics, so a replay needs no remapping."""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"
FIX_TYPE = "sensor_msgs/msg/NavSatFix"
DETECTIONS_TYPE = "rssi_ros_msgs/msg/DetectionArray"
ESTIMATE_TYPE = "rssi_ros_msgs/msg/RssiEstimate"
CLOCK_TYPE = "rosgraph_msgs/msg/Clock"


@dataclass(frozen=True)
class BagTopics:
    """Where each stream goes (absolute names; the node's defaults)."""

    image: str = "/camera/image_raw"
    rx_fix: str = "/rx/fix"
    tx_fix: str = "/tx/fix"
    detections: str = "/detections"
    ground_truth: str = "/ground_truth/rssi"
    clock: str = "/clock"

    def image_topic(self, compressed: bool) -> str:
        """image_transport convention: the compressed stream lives under `<base>/compressed`."""
        return f"{self.image}/compressed" if compressed else self.image


# Frame ids written into the headers.
CAMERA_FRAME = "camera"
RX_FRAME = "rx_gps"
TX_FRAME = "tx_gps"
