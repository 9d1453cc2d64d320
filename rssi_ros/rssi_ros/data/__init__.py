"""Data layer: sample records, readers of the DeepSense layouts, box tensors, splits, cache, synthesis.

Free of ROS imports (the trainer runs on machines without ROS).
"""
