"""The networks: encoders, heads, the decomposed model, comparison models, checkpoints, batching.

Imports torch and timm, never ROS. Build a model with `model.networks.build_model(ModelConfig(...))`;
load a trained one with `model.checkpoint.load_checkpoint(path).build_model()`.
"""
