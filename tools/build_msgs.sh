#!/usr/bin/env bash
# Builds and installs the rssi_ros_msgs interface package into a Python venv that holds the
# ROS 2 Jazzy wheels from PyPI (the venv is an ament prefix). In a ROS install use colcon instead.
#   usage: tools/build_msgs.sh VENV BUILD_DIR [INSTALL_PREFIX]   (prefix defaults to the venv)
set -euo pipefail
venv=$(cd "$1" && pwd)
build=$2
prefix=${3:-$venv}
root=$(cd "$(dirname "$0")/.." && pwd)
py="$venv/bin/python"

# The wheels' bootstrapper re-executes Python with LD_LIBRARY_PATH set; CMake's children need
# the same library path, and no re-exec.
LD_LIBRARY_PATH=$("$py" -c 'import ros_wheels_bootstrapper as b; print(b.get_ros_paths())')
export LD_LIBRARY_PATH _ROS_WHEELS_BOOTSTRAP_COMPLETE=1
export PATH="$venv/bin:$PATH" CMAKE_PREFIX_PATH="$venv" AMENT_PREFIX_PATH="$venv"

mkdir -p "$build"
log="$build/build.log"
echo "building rssi_ros_msgs (log: $log)"
if ! {
  cmake -S "$root/rssi_ros_msgs" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    -DPython3_EXECUTABLE="$py" -DCMAKE_INSTALL_PREFIX="$prefix" &&
  cmake --build "$build" -j "$(nproc)" &&
  cmake --install "$build"
} >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "rssi_ros_msgs failed to build; full log: $log" >&2
  exit 1
fi
if [ "$prefix" = "$venv" ]; then
  (cd / && "$py" -c 'from rssi_ros_msgs.msg import RssiEstimate, DetectionArray') || {
    echo "rssi_ros_msgs built but does not import" >&2
    exit 1
  }
fi
echo "rssi_ros_msgs installed into $prefix"
