"""Launch the RSSI predictor node.

    ros2 launch rssi_ros predictor.launch.py checkpoint:=/path/to/best.pt
    ros2 launch rssi_ros predictor.launch.py params_file:=my.yaml namespace:=rsu1 use_sim_time:=true
    ros2 launch rssi_ros predictor.launch.py image_topic:=/cam/front/image_raw rx_fix_topic:=/rsu/gps/fix

The node's own topic names are relative: camera/image_raw (or camera/image_raw/compressed with
`camera.transport: compressed`), rx/fix, tx/fix, detections, ~/estimate. Without a namespace they
are /camera/image_raw, /rx/fix, /tx/fix, /detections and /rssi_predictor/estimate; with
`namespace:=rsu1` they move under /rsu1. A *_topic argument remaps one of them to any name
(`image_topic` is the base topic: the compressed stream is `<image_topic>/compressed`, as with
image_transport). Empty `checkpoint`/`backend` keep the parameter file's values.

The node is a managed (lifecycle) node, launched as `launch_ros.actions.LifecycleNode` so launch
tooling (event handlers, `ros2 lifecycle`) sees it as one; with its `autostart` parameter (default
true) it configures and activates itself, so nothing else needs to drive the transitions.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode

NODE_NAME = "rssi_predictor"

# launch argument -> (the node's own topic names it remaps (suffixes appended), description)
TOPICS = {
    "image_topic": (
        [("camera/image_raw", ""), ("camera/image_raw/compressed", "/compressed")],
        "camera base topic: sensor_msgs/Image here, CompressedImage on <topic>/compressed",
    ),
    "rx_fix_topic": ([("rx/fix", "")], "receiver (basestation) sensor_msgs/NavSatFix"),
    "tx_fix_topic": ([("tx/fix", "")], "transmitter (vehicle) sensor_msgs/NavSatFix"),
    "detections_topic": (
        [("detections", "")],
        "rssi_ros_msgs/DetectionArray or vision_msgs/Detection2DArray",
    ),
    "estimate_topic": ([("~/estimate", "")], "output rssi_ros_msgs/RssiEstimate"),
}


def _predictor(context, *args, **kwargs):
    get = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    overrides = {"use_sim_time": get("use_sim_time").lower() in ("1", "true", "yes")}
    for name in ("checkpoint", "backend"):
        if get(name):
            overrides[name] = get(name)
    remappings = []
    for arg, (own_names, _) in TOPICS.items():
        target = get(arg)
        if target:
            remappings += [(own, target + suffix) for own, suffix in own_names]
    return [
        LifecycleNode(
            package="rssi_ros",
            executable="predictor",
            name=NODE_NAME,
            namespace=get("namespace"),
            output="screen",
            emulate_tty=True,
            parameters=[get("params_file"), overrides],
            remappings=remappings,
            arguments=["--ros-args", "--log-level", get("log_level")],
        )
    ]


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("rssi_ros")
    args = [
        DeclareLaunchArgument(
            "params_file",
            default_value=os.path.join(share, "config", "predictor.yaml"),
            description="YAML file with the node's parameters",
        ),
        DeclareLaunchArgument(
            "checkpoint", default_value="", description="model checkpoint (.pt) or exported model (.onnx)"
        ),
        DeclareLaunchArgument(
            "backend", default_value="", description="auto, torch or onnxruntime (empty: the params file's)"
        ),
        DeclareLaunchArgument(
            "namespace", default_value="", description="namespace of the node and its topics"
        ),
        DeclareLaunchArgument(
            "use_sim_time", default_value="false", description="follow /clock (bag replay)"
        ),
        DeclareLaunchArgument(
            "fastdds_large_images",
            default_value="true",
            description="load the shared-memory Fast DDS profile that carries raw 960x540 images at 30 fps",
        ),
        DeclareLaunchArgument("log_level", default_value="info", description="node log level"),
    ]
    args += [
        DeclareLaunchArgument(a, default_value="", description=f"{h} (empty: the node's default name)")
        for a, (_, h) in TOPICS.items()
    ]
    fastdds = SetEnvironmentVariable(
        "FASTRTPS_DEFAULT_PROFILES_FILE",
        os.path.join(share, "config", "fastdds_large_images.xml"),
        condition=IfCondition(LaunchConfiguration("fastdds_large_images")),
    )
    return LaunchDescription([*args, fastdds, OpaqueFunction(function=_predictor)])
