"""Entry point of the predictor node: `ros2 run rssi_ros predictor` / `python -m rssi_ros predictor`.

    python -m rssi_ros predictor --ros-args -p checkpoint:=best.pt --params-file config/predictor.yaml
    python -m rssi_ros predictor --ros-args -p use_sim_time:=true -r camera/image_raw:=/cam/image

Spins the node on a single-threaded executor until Ctrl-C, then logs what it answered and skipped.
A start-up parameter that cannot be declared (`-p rx.latitude:=abc`) ends it with one line naming
the parameter and exit status 2; anything unexpected that still reaches the executor (every callback
is guarded, so this would be rclpy itself) is logged with its traceback and ends it with status 1.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

USAGE = __doc__
EXIT_BAD_PARAMETER = 2
EXIT_INTERNAL_ERROR = 1


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
    from rssi_ros.ros.parameters import ParameterError

    rclpy.init(args=[sys.argv[0], *args])
    node = None
    status = 0
    try:
        node = PredictorNode()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except ParameterError as exc:
        print(f"rssi_predictor: {exc}", file=sys.stderr)
        status = EXIT_BAD_PARAMETER
    except Exception:
        logging.getLogger("rssi_predictor").exception("the executor stopped on an unexpected error")
        status = EXIT_INTERNAL_ERROR
    finally:
        if node is not None:
            counters = node.counters()
            # Python logging, not the node's logger: after Ctrl-C the context (and /rosout) is gone.
            logging.getLogger("rssi_predictor").info(
                "stopping: %s", ", ".join(f"{k}={v}" for k, v in sorted(counters.items()))
            )
            node.destroy_node()
        rclpy.try_shutdown()
    return status


if __name__ == "__main__":
    sys.exit(main())
