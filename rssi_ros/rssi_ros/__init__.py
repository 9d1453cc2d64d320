"""rssi_ros: 60 GHz RSSI from camera, GPS and detections, as path loss plus shadow fading.

The Python core (physics, data, model, training, evaluation, inference) imports no ROS module;
only `rssi_ros.ros` and `rssi_ros.bags` do.
"""

__version__ = "0.1.0"
