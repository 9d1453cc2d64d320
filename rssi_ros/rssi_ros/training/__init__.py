"""Training: configuration (YAML + overrides), the two-stage loop, checkpoints, torchrun/DDP.

`python -m rssi_ros train --config rssi_ros/config/train.yaml [key=value ...]`, or from Python
`rssi_ros.training.trainer.train(load_config(path, overrides), out)`. No ROS imports.
"""
