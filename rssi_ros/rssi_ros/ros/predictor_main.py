"""Entry point of the predictor node: `ros2 run rssi_ros predictor` / `python -m rssi_ros predictor`.

    python -m rssi_ros predictor --ros-args -p checkpoint:=best.pt --params-file config/predictor.yaml
    python -m rssi_ros predictor --ros-args -p use_sim_time:=true -r camera/image_raw:=/cam/image

Spins the node on a single-threaded executor until Ctrl-C, then logs what it answered and skipped.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

USAGE = __doc__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the node; `argv` are the arguments after the command (ROS arguments included)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    from rssi_ros.ros.node import PredictorNode

    rclpy.init(args=[sys.argv[0], *args])
    node = None
    try:
        node = PredictorNode()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            counters = node.counters()
            # Python logging, not the node's logger: after Ctrl-C the context (and /rosout) is gone.
            logging.getLogger("rssi_predictor").info(
                "stopping: %s", ", ".join(f"{k}={v}" for k, v in sorted(counters.items()))
            )
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
