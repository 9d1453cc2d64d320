"""rosbag2 tools without a ROS install: write scenes as bags, read them back, replay them into a graph.

Writing and reading use `rosbags` (pure Python, sqlite3 and mcap storage) with the project's own
message types registered from their `.msg` files, so any reader can decode the bags. Replay uses
rclpy and publishes the recorded bytes unchanged (header stamps survive) plus `/clock`.
"""
