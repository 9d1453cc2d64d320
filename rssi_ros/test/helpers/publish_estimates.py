"""Child process for the DDS test: publishes RssiEstimate messages with increasing sequence numbers.

Usage: publish_estimates.py TOPIC RATE_HZ COUNT
"""

import sys

import rclpy
from rclpy.node import Node

from rssi_ros_msgs.msg import RssiEstimate


def main() -> None:
    topic, rate, count = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    rclpy.init()
    node = Node("estimate_publisher")
    pub = node.create_publisher(RssiEstimate, topic, 10)
    sent = 0

    def tick() -> None:
        nonlocal sent
        msg = RssiEstimate()
        msg.header.stamp.sec = sent
        msg.header.frame_id = "camera"
        msg.path_loss_db = 60.0 + sent
        msg.shadow_fading_db = -10.0
        msg.rssi_db = -(msg.path_loss_db + msg.shadow_fading_db)
        msg.modalities = RssiEstimate.MODALITY_POSITION | RssiEstimate.MODALITY_IMAGE
        msg.model_id = "dds-test"
        pub.publish(msg)
        sent += 1
        if sent >= count:
            raise SystemExit(0)

    node.create_timer(1.0 / rate, tick)
    try:
        rclpy.spin(node)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
