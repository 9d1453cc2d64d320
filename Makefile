# rssi_ros developer commands. Everything is set up on demand in .venv (idempotent, fast when
# nothing changed): `make demo` runs the main job, `make test` runs every test.

SHELL := /bin/bash
PYTHON_BOOT ?= python3.11
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
STAMPS := $(VENV)/.stamps
PIP := $(PY) -m pip --disable-pip-version-check -q

# Keep ROS logs and state inside the repository's ignored folders.
export ROS_HOME := $(CURDIR)/.cache/ros
export ROS_LOG_DIR := $(CURDIR)/.cache/ros/log
export MPLCONFIGDIR := $(CURDIR)/.cache/matplotlib
export HF_HUB_OFFLINE ?= 1
export PYTHONDONTWRITEBYTECODE := 1

MSG_SOURCES := $(wildcard rssi_ros_msgs/msg/*.msg) rssi_ros_msgs/CMakeLists.txt rssi_ros_msgs/package.xml

.PHONY: setup demo test lint format constraints clean distclean

setup: $(STAMPS)/rssi_ros

$(STAMPS)/venv:
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PIP) install --upgrade pip
	mkdir -p $(STAMPS) && touch $@

$(STAMPS)/deps: $(STAMPS)/venv requirements/ros.txt requirements/runtime.txt requirements/ml.txt requirements/dev.txt requirements/constraints.txt
	$(PIP) install -c requirements/constraints.txt -r requirements/ros.txt -r requirements/ml.txt -r requirements/dev.txt 2>&1 | { grep -v "is ignored: it is neither" || true; }
	touch $@

$(STAMPS)/msgs: $(STAMPS)/deps $(MSG_SOURCES) tools/build_msgs.sh
	bash tools/build_msgs.sh $(VENV) $(CURDIR)/build/rssi_ros_msgs
	touch $@

$(STAMPS)/rssi_ros: $(STAMPS)/msgs rssi_ros/setup.py rssi_ros/setup.cfg Makefile
	$(PIP) install --no-deps --no-build-isolation --config-settings editable_mode=compat -e rssi_ros 2>&1 | { grep -v "is ignored: it is neither" || true; }
	touch $@

## README command 1: the main job on the embedded default scene.
demo: setup
	$(PY) -m rssi_ros demo

## README command 2: every test (what .ci/run calls).
test: setup
	mkdir -p $(ROS_LOG_DIR) $(MPLCONFIGDIR)
	$(VENV)/bin/ruff check .
	cd rssi_ros && $(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

constraints: $(STAMPS)/venv
	$(PIP) install -r requirements/ros.txt -r requirements/ml.txt -r requirements/dev.txt
	{ sed -n '1,2p' requirements/constraints.txt; $(PY) -m pip freeze --exclude-editable; } > requirements/constraints.new
	mv requirements/constraints.new requirements/constraints.txt

clean:
	rm -rf build .cache .pytest_cache rssi_ros/.pytest_cache

distclean: clean
	rm -rf $(VENV)
