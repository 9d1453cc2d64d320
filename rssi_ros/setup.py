"""ament_python package of rssi_ros.

torch is deliberately unpinned: users bring the build that matches their GPU and CUDA.
The ROS runtime (rclpy, messages) is not listed here; it comes from the ROS install (or the
ros-jazzy-* wheels that the repository's set-up installs).
"""

from glob import glob

from setuptools import find_packages, setup

package_name = "rssi_ros"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
        (f"share/{package_name}/launch", glob("launch/*.py")),
        (f"share/{package_name}/config", glob("config/*")),
    ],
    include_package_data=True,
    package_data={package_name: ["py.typed"]},
    python_requires=">=3.10",
    install_requires=[
        "setuptools",
        "numpy",
        "pyproj",
        "PyYAML",
        "tqdm",
        "matplotlib",
        "opencv-python-headless",
        "torch",
        "timm",
    ],
    extras_require={
        "export": ["onnx", "onnxruntime"],
        "bags": ["rosbags", "mcap"],
        "test": ["pytest"],
    },
    zip_safe=True,
    maintainer="rssi_ros maintainers",
    maintainer_email="rssi-ros-maintainers@rssi-ros.dev",
    description="Predicts 60 GHz RSSI from camera, GPS and detections (path loss + shadow fading).",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "predictor = rssi_ros.ros.predictor_main:main",
            "rssi_ros = rssi_ros.cli:main",
        ],
    },
)
