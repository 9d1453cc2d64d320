"""Inference: load a checkpoint or an exported ONNX model and turn `Sample`s into `Estimate`s.

`Predictor` is what the ROS node, the bag tools and the evaluator use; it runs the one
preprocessing path (`rssi_ros.data.preprocess.preprocess`) so offline and online inputs match.
"""
