"""Launch the RSSI predictor node.

    ros2 launch rssi_ros predictor.launch.py checkpoint:=/path/to/best.pt
    ros2 launch rssi_ros predictor.launch.py params_file:=my.yaml namespace:=rsu1 use_sim_time:=true

Topic arguments remap the node's default topics, so a camera driver's or detector's own names plug in
without editing the parameter file. An empty `checkpoint` keeps the parameter file's value.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

# launch argument -> (the node's own topic name it remaps, default target, description)
TOPICS = {
    "image_topic": ("image", "/camera/image_raw", "camera sensor_msgs/Image (or .../compressed)"),
    "rx_fix_topic": ("rx/fix", "/rx/fix", "receiver (basestation) sensor_msgs/NavSatFix"),
    "tx_fix_topic": ("tx/fix", "/tx/fix", "transmitter (vehicle) sensor_msgs/NavSatFix"),
    "detections_topic": ("detections", "/detections", "rssi_ros_msgs/DetectionArray or vision_msgs"),
    "estimate_topic": ("~/estimate", "/rssi_predictor/estimate", "output rssi_ros_msgs/RssiEstimate"),
}


def _predictor(context, *args, **kwargs):
    get = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    overrides = {"use_sim_time": get("use_sim_time").lower() in ("1", "true", "yes")}
    if get("checkpoint"):
        overrides["checkpoint"] = get("checkpoint")
    return [
        Node(
            package="rssi_ros",
            executable="predictor",
            name="rssi_predictor",
            namespace=get("namespace"),
            output="screen",
            emulate_tty=True,
            parameters=[get("params_file"), overrides],
            remappings=[(own, get(arg)) for arg, (own, _, _) in TOPICS.items()],
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
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node"),
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
    args += [DeclareLaunchArgument(a, default_value=d, description=h) for a, (_, d, h) in TOPICS.items()]
    fastdds = SetEnvironmentVariable(
        "FASTRTPS_DEFAULT_PROFILES_FILE",
        os.path.join(share, "config", "fastdds_large_images.xml"),
        condition=IfCondition(LaunchConfiguration("fastdds_large_images")),
    )
    return LaunchDescription([*args, fastdds, OpaqueFunction(function=_predictor)])
