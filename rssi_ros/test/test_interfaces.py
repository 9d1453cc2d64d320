"""The interface package: messages serialise, cross process boundaries over DDS, and build cleanly."""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import rclpy
from helpers.ros import HELPERS, spin_until, start_python, stop
from rclpy.serialization import deserialize_message, serialize_message

from rssi_ros_msgs.msg import Detection, DetectionArray, RssiEstimate

pytestmark = pytest.mark.ros


def _estimate() -> RssiEstimate:
    msg = RssiEstimate()
    msg.header.stamp.sec = 1_700_000_000
    msg.header.stamp.nanosec = 123_456_789
    msg.header.frame_id = "camera_optical"
    msg.path_loss_db = 71.25
    msg.shadow_fading_db = -3.5
    msg.rssi_db = -(71.25 - 3.5)
    msg.path_loss_exponent = 2.0
    msg.distance_m = 3.5
    msg.east_m = -1.5
    msg.north_m = 3.0
    msg.tx_in_view = True
    msg.tx_selection = RssiEstimate.TX_SELECTION_PROJECTION
    msg.num_boxes = 7
    msg.modalities = RssiEstimate.MODALITY_POSITION | RssiEstimate.MODALITY_BOXES
    msg.model_id = "decomposed-learned@0123abcd"
    msg.backend = "onnxruntime"
    msg.processing_time_ms = 4.75
    return msg


def test_rssi_estimate_round_trips_through_serialisation():
    msg = _estimate()
    raw = serialize_message(msg)
    back = deserialize_message(raw, RssiEstimate)
    assert back == msg
    # Not `serialize_message(back) == raw`: the CDR serialiser leaves alignment padding (here the
    # bytes before model_id's length) uninitialised, so equal messages can differ in those bytes.
    again = serialize_message(back)
    assert len(again) == len(raw) and deserialize_message(again, RssiEstimate) == msg
    assert back.rssi_db == pytest.approx(-(back.path_loss_db + back.shadow_fading_db), abs=1e-5)


def test_detection_array_round_trips_and_keeps_order():
    arr = DetectionArray()
    arr.header.frame_id = "camera"
    arr.image_width, arr.image_height = 960, 540
    for i, name in enumerate(["car", "truck", "person"]):
        d = Detection()
        d.id = f"track-{i}"
        d.class_name = name
        d.class_id = i
        d.score = 0.5 + i / 8  # exactly representable in float32
        d.center_x, d.center_y, d.size_x, d.size_y = 100.0 * i, 50.0, 40.0, 30.0
        d.transmitter = Detection.TRANSMITTER_YES if i == 0 else Detection.TRANSMITTER_UNKNOWN
        arr.detections.append(d)
    back = deserialize_message(serialize_message(arr), DetectionArray)
    assert back == arr
    assert [d.class_name for d in back.detections] == ["car", "truck", "person"]
    assert back.detections[0].transmitter == Detection.TRANSMITTER_YES


def test_message_constants_equal_the_values_the_python_core_writes():
    """The node copies the core's numbers into these fields: the .msg constants must mean the same."""
    from rssi_ros.data import preprocess
    from rssi_ros.model.config import BOXES, IMAGE, MODALITY_NAMES, POSITION, ModelConfig
    from rssi_ros.ros import detection_conversion, tx_selection

    # Bit i of RssiEstimate.modalities is ModelInput.modalities[i] (data.preprocess) ...
    assert RssiEstimate.MODALITY_POSITION == 1 << preprocess.MODALITY_POSITION
    assert RssiEstimate.MODALITY_IMAGE == 1 << preprocess.MODALITY_IMAGE
    assert RssiEstimate.MODALITY_BOXES == 1 << preprocess.MODALITY_BOXES
    # ... and model.config names the same slots, so a model's supported bits mask the same inputs.
    assert MODALITY_NAMES[preprocess.MODALITY_POSITION] == POSITION
    assert MODALITY_NAMES[preprocess.MODALITY_IMAGE] == IMAGE
    assert MODALITY_NAMES[preprocess.MODALITY_BOXES] == BOXES
    assert len(MODALITY_NAMES) == preprocess.N_MODALITIES
    assert ModelConfig(modalities=(POSITION, BOXES)).modality_bits == (
        RssiEstimate.MODALITY_POSITION | RssiEstimate.MODALITY_BOXES
    )
    assert tx_selection.SELECTION_NONE == RssiEstimate.TX_SELECTION_NONE
    assert tx_selection.SELECTION_FLAG == RssiEstimate.TX_SELECTION_FLAG
    assert tx_selection.SELECTION_CLASS == RssiEstimate.TX_SELECTION_CLASS
    assert tx_selection.SELECTION_PROJECTION == RssiEstimate.TX_SELECTION_PROJECTION
    assert detection_conversion.TRANSMITTER_UNKNOWN == Detection.TRANSMITTER_UNKNOWN
    assert detection_conversion.TRANSMITTER_YES == Detection.TRANSMITTER_YES
    assert detection_conversion.TRANSMITTER_NO == Detection.TRANSMITTER_NO


def test_estimates_cross_process_boundary_over_dds():
    """A publisher in another process and a subscriber here discover each other and exchange messages."""
    from rclpy.executors import SingleThreadedExecutor

    topic = f"/dds_test_{os.getpid()}/estimate"
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)
    node = rclpy.create_node("dds_test_subscriber", context=context)
    executor.add_node(node)
    received: list[RssiEstimate] = []
    node.create_subscription(RssiEstimate, topic, received.append, 10)
    proc = start_python(HELPERS / "publish_estimates.py", topic, "20", "400")
    try:
        assert spin_until(executor, lambda: len(received) >= 10, timeout=30.0, procs=[proc]), (
            f"no estimates over DDS within 30 s (domain {os.environ['ROS_DOMAIN_ID']})"
        )
    finally:
        output = stop(proc)
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    # Discovery may miss the first few; what arrives is in order, intact and from the other process.
    seqs = [m.header.stamp.sec for m in received]
    assert seqs == sorted(seqs), output
    for m in received:
        assert m.model_id == "dds-test"
        assert math.isclose(m.rssi_db, -(m.path_loss_db + m.shadow_fading_db), abs_tol=1e-4)
        assert m.modalities == RssiEstimate.MODALITY_POSITION | RssiEstimate.MODALITY_IMAGE


@pytest.mark.parametrize("package", ["rssi_ros", "rssi_ros_msgs"])
def test_package_xml_validates(repo_root: Path, package: str):
    from catkin_pkg.package import parse_package

    pkg = parse_package(str(repo_root / package / "package.xml"))
    pkg.validate()
    assert pkg.name == package
    assert pkg.package_format == 3
    build_type = pkg.get_build_type()
    assert build_type == ("ament_python" if package == "rssi_ros" else "ament_cmake")
    depends = {d.name for d in pkg.build_depends + pkg.exec_depends}
    if package == "rssi_ros":
        assert {"rclpy", "rssi_ros_msgs", "sensor_msgs", "diagnostic_msgs", "ament_index_python"} <= depends
    else:
        assert "std_msgs" in depends
        assert "rosidl_interface_packages" in [g.name for g in pkg.member_of_groups]


# Python modules the package imports -> their rosdep key in package.xml.
ROSDEP_PYTHON = {
    "numpy": "python3-numpy",
    "yaml": "python3-yaml",
    "cv2": "python3-opencv",
    "tqdm": "python3-tqdm",
    "torch": "python3-torch",
    "matplotlib": "python3-matplotlib",
    "pyproj": "python3-pyproj",
}
# Modules without rosdep keys everywhere -> the requirements/runtime.txt line that installs them.
PIP_ONLY = {
    "rosbags": "rosbags",
    "mcap": "mcap",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
    "timm": "timm",
    "safetensors": "timm",  # a requirement of timm; imported only to load .safetensors encoder weights
}
# ROS packages used only when they import (Detection2DArray input).
OPTIONAL_ROS = {"vision_msgs"}


def _imported_top_levels(files: list[Path]) -> dict[str, str]:
    """Top-level module of every import statement in `files` -> the first file importing it."""
    found: dict[str, str] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path.name)
    return found


def test_package_xml_and_runtime_txt_declare_every_import_of_the_package(repo_root: Path):
    """What rosdep installs for colcon users: a ROS import without a depend fails only on their robot."""
    from catkin_pkg.package import parse_package

    pkg_root = repo_root / "rssi_ros"
    pkg = parse_package(str(pkg_root / "package.xml"))
    depends = {d.name for d in pkg.build_depends + pkg.exec_depends}
    # Everything colcon installs: the node, bags and launch file, and the offline tools beside them.
    files = [*(pkg_root / "rssi_ros").rglob("*.py"), *(pkg_root / "launch").glob("*.py")]
    imported = _imported_top_levels(files)
    runtime = _requirements(repo_root / "requirements" / "runtime.txt")
    missing: dict[str, str] = {}
    for name, where in imported.items():
        if name in sys.stdlib_module_names or name == "rssi_ros" or name in OPTIONAL_ROS:
            continue
        if name in PIP_ONLY:
            if PIP_ONLY[name] not in runtime:
                missing[name] = f"{where} (not in requirements/runtime.txt)"
        elif ROSDEP_PYTHON.get(name, name) not in depends:
            missing[name] = f"{where} (no depend {ROSDEP_PYTHON.get(name, name)})"
    assert {"rclpy", "rssi_ros_msgs", "ament_index_python", "launch", "launch_ros"} <= set(imported)
    assert not missing, f"imported without a declared dependency: {missing}"


def _requirements(path: Path) -> list[str]:
    """The requirement lines of a pip requirements file, comments stripped."""
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def test_runtime_requirements_match_setup_py_and_pin_nothing(repo_root: Path):
    """requirements/runtime.txt is what ROS users pip-install: setup.py's needs, unpinned, torch excluded."""
    tree = ast.parse((repo_root / "rssi_ros" / "setup.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup")
    kwargs = {
        k.arg: ast.literal_eval(k.value)
        for k in call.keywords
        if k.arg in ("install_requires", "extras_require")
    }
    runtime = _requirements(repo_root / "requirements" / "runtime.txt")
    assert not [r for r in runtime if any(op in r for op in "=<>~!")], "runtime.txt must not pin versions"
    needed = {
        *kwargs["install_requires"],
        *kwargs["extras_require"]["export"],
        *kwargs["extras_require"]["bags"],
    }
    needed -= {"torch", "setuptools"}  # torch: the user's own CUDA build; setuptools: the build itself
    assert needed <= set(runtime), f"runtime.txt lacks {sorted(needed - set(runtime))}"
    assert not {"torch", "torchvision"} & set(runtime)
    ml = (repo_root / "requirements" / "ml.txt").read_text().splitlines()
    assert "-r runtime.txt" in ml and any(line.startswith("torch==") for line in ml)


@pytest.mark.slow
def test_interface_package_builds_from_clean_folder(repo_root: Path, tmp_path: Path):
    venv = Path(sys.prefix)
    build, prefix = tmp_path / "build", tmp_path / "install"
    result = subprocess.run(
        ["bash", str(repo_root / "tools" / "build_msgs.sh"), str(venv), str(build), str(prefix)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    site = prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    generated = site / "rssi_ros_msgs" / "msg"
    for stem in ("_rssi_estimate", "_detection", "_detection_array"):
        assert (generated / f"{stem}.py").is_file(), f"missing generated {stem}.py"
    assert list(site.glob("rssi_ros_msgs/*rosidl_typesupport_c*.so")), "no compiled type support"
    assert (prefix / "share" / "rssi_ros_msgs" / "msg" / "RssiEstimate.msg").is_file()
    assert (prefix / "share" / "ament_index" / "resource_index" / "packages" / "rssi_ros_msgs").is_file()
