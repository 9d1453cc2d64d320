"""The node's subscriptions: which inputs, on which topics, with which message types and QoS.

    camera/image_raw (Image) | camera/image_raw/compressed (CompressedImage)   `camera.transport`
    rx/fix, tx/fix (NavSatFix)                                                 rx/fix unless `rx.fixed`
    detections (rssi_ros_msgs/DetectionArray | vision_msgs/Detection2DArray)  `detections.type`

The detections type is chosen at configure (`choose_detections`): a vision_msgs that does not
import degrades to no detections, never blocks the node. `Inputs` creates the subscriptions on
activate (each callback guarded under its own name) and removes them on deactivate; rx/fix
follows `rx.fixed` at run time (`sync_rx`). QoS come from the read-only `qos.*` parameters.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image, NavSatFix

from rssi_ros.ros.qos import profile
from rssi_ros_msgs.msg import DetectionArray

IMAGE_TOPIC = "camera/image_raw"
COMPRESSED_TOPIC = "camera/image_raw/compressed"
RX_TOPIC, TX_TOPIC, DETECTIONS_TOPIC = "rx/fix", "tx/fix", "detections"
VISION_MSGS_MODULE = "vision_msgs.msg"
FASTDDS_PROFILE_ENV = "FASTRTPS_DEFAULT_PROFILES_FILE"

Guard = Callable[[str, Callable[..., None]], Callable[..., None]]


@dataclass(frozen=True)
class DetectionInput:
    """The detections subscription chosen at configure: message type, name for logs, which callback."""

    msg_type: Any
    label: str
    vision: bool  # vision_msgs/Detection2DArray (else rssi_ros_msgs/DetectionArray)


# The diagnostics info key naming the detections input, outside the `detections.*` counters (which
# monitors sum), and its value when vision_msgs is asked for but does not import.
DETECTIONS_SOURCE = "input.detections_source"
VISION_MSGS_UNAVAILABLE = "unavailable (vision_msgs does not import)"


def choose_detections(enabled: bool, kind: str) -> tuple[DetectionInput | None, str, str | None]:
    """(the detections input or None, `DETECTIONS_SOURCE` for diagnostics, the problem or None).

    Without vision_msgs the node runs without detections (estimates from position and image);
    the problem is for the node to log as an ERROR and report in /diagnostics until reconfigured.
    """
    if not enabled:
        return None, "disabled", None
    if kind != "vision_msgs":
        chosen = DetectionInput(DetectionArray, "rssi_ros_msgs/DetectionArray", vision=False)
        return chosen, chosen.label, None
    try:
        msg_type = importlib.import_module(VISION_MSGS_MODULE).Detection2DArray
    except Exception as exc:  # ImportError, or a broken install's type support error
        problem = (
            f"detections.type is vision_msgs but vision_msgs does not import ({type(exc).__name__}: "
            f"{exc}): running without detections; install ros-<distro>-vision-msgs or set "
            "detections.type rssi_ros_msgs"
        )
        return None, VISION_MSGS_UNAVAILABLE, problem
    chosen = DetectionInput(msg_type, "vision_msgs/Detection2DArray", vision=True)
    return chosen, chosen.label, None


def large_image_hint(raw_camera: bool, env: Mapping[str, str]) -> str | None:
    """The hint for raw images over Fast DDS without a large-segment profile, or None."""
    if not raw_camera or env.get(FASTDDS_PROFILE_ENV) or "cyclone" in env.get("RMW_IMPLEMENTATION", ""):
        return None
    return (
        "raw images over Fast DDS: publishers of large frames (960x540 at 30 fps) need a larger "
        "shared-memory segment, or frames and the fixes queued behind them arrive late or not at "
        f"all; export {FASTDDS_PROFILE_ENV}=<rssi_ros share>/config/fastdds_large_images.xml "
        "for the camera driver / bag player (the launch file sets it for this node)"
    )


@dataclass(frozen=True)
class Handlers:
    """The node's message callbacks, unguarded (`Inputs` guards each under its own name)."""

    image: Callable[[bytes], None]  # serialised sensor_msgs/Image
    compressed_image: Callable[[bytes], None]  # serialised sensor_msgs/CompressedImage
    images_lost: Callable[[Any], None]  # DDS sample-lost events of the camera subscription
    rx_fix: Callable[[NavSatFix], None]
    tx_fix: Callable[[NavSatFix], None]
    detections: Callable[[Any], None]  # rssi_ros_msgs/DetectionArray
    detection2d: Callable[[Any], None]  # vision_msgs/Detection2DArray


class Inputs:
    """The subscriptions of `node`; `detection` is set at configure (`choose_detections`)."""

    def __init__(self, node: Node, guard: Guard, handlers: Handlers) -> None:
        self._node = node
        self._guard = guard
        self._handlers = handlers
        self.detection: DetectionInput | None = None
        self.subscriptions: list[Any] = []  # all but rx/fix
        self.rx: Any = None  # the rx/fix subscription, while the receiver is not fixed

    def _qos(self, name: str) -> Any:
        p = self._node.get_parameter
        return profile(p(f"qos.{name}.reliability").value, p(f"qos.{name}.depth").value)

    def create(self, rx_wanted: bool) -> None:
        """Subscribe to every enabled input; ValueError for a QoS the middleware refuses."""
        node, h, p = self._node, self._handlers, self._node.get_parameter
        events = SubscriptionEventCallbacks(message_lost=self._guard("images_lost", h.images_lost))
        image_qos, fix_qos, det_qos = self._qos("image"), self._qos("fix"), self._qos("detections")
        subs = self.subscriptions
        if p("camera.enabled").value:
            compressed = p("camera.transport").value == "compressed"
            msg_type, topic = (CompressedImage, COMPRESSED_TOPIC) if compressed else (Image, IMAGE_TOPIC)
            callback = self._guard(
                "compressed_image" if compressed else "image",
                h.compressed_image if compressed else h.image,
            )
            # raw=True: the callback gets the serialised bytes and views the pixels in place
            # (see cdr_image) instead of rclpy copying every frame into a new message.
            subs.append(
                node.create_subscription(
                    msg_type, topic, callback, image_qos, event_callbacks=events, raw=True
                )
            )
        self.sync_rx(rx_wanted)
        subs.append(node.create_subscription(NavSatFix, TX_TOPIC, self._guard("tx_fix", h.tx_fix), fix_qos))
        if self.detection is not None:
            d = self.detection
            callback = self._guard("detections", h.detection2d if d.vision else h.detections)
            subs.append(node.create_subscription(d.msg_type, DETECTIONS_TOPIC, callback, det_qos))

    def sync_rx(self, wanted: bool) -> None:
        """rx/fix is subscribed only while the receiver is not fixed by parameters (rx.fixed may change)."""
        if wanted and self.rx is None:
            callback = self._guard("rx_fix", self._handlers.rx_fix)
            self.rx = self._node.create_subscription(NavSatFix, RX_TOPIC, callback, self._qos("fix"))
        elif not wanted and self.rx is not None:
            self._node.destroy_subscription(self.rx)
            self.rx = None

    def destroy(self) -> None:
        for sub in self.subscriptions:
            self._node.destroy_subscription(sub)
        self.subscriptions.clear()
        if self.rx is not None:
            self._node.destroy_subscription(self.rx)
            self.rx = None
