"""ROS 2 side of rssi_ros: the predictor node and the pure pieces it delegates to.

Pure modules (no rclpy; tested without a ROS graph, reused by the bag tools):
`image_conversion` (Image/CompressedImage -> RGB), `cdr_image` (Image fields read from serialised
bytes), `fix_validation` (NavSatFix checks), `detection_conversion` (DetectionArray /
vision_msgs Detection2DArray -> `Box`), `sync` (the stamp-based sync policy), `tx_selection`
(flag / class / GPS projection), `frame_processor` (frame -> `Predictor.predict`), `diagnostics`
(counters, rates, latency percentiles), `config` (the parameter table), `debug_image`, `reasons`,
`guard` (the callback guard), `throttled_log`, `model_loader` (loading and staging models).
ROS modules: `node` (the lifecycle node: transitions, wiring, callbacks), `parameters` (declaration,
coercion, whole-call sets), `inputs` (the subscriptions), `messages` (message builders), `qos`,
`predictor_main`.
"""
