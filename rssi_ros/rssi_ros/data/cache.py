"""Preprocessed cache: decoded, resized images in one memory-mapped uint8 array, plus the tabular fields.

Decoding a 960x540 JPEG and resizing it costs milliseconds per frame, every epoch; the cache does
it once. Layout of one cache (a folder `<root>/<fingerprint>/`):

    images.npy   (n_images, size, size, 3) uint8, opened with mmap_mode="r" (shared page cache,
                 so data-loader workers and DDP ranks do not each hold a copy)
    table.npz    per-sample columns: rssi_db, rx/tx lat-lon, seq_index, index, stamp, image_row
    index.json   sample keys, image size, fingerprint, images that failed to decode

The fingerprint hashes the image size, the format version, every sample's key and tabular fields,
and each image file's path, size and modification time (or the pixels of an in-memory image),
so a cache is rebuilt when any of them changes and reused otherwise. It is built in a temporary
folder and renamed into place, so a crash never leaves a half-written cache that looks complete,
and concurrent builders (DDP ranks) end up sharing one. Old caches are not deleted automatically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from rssi_ros.data.images import load_rgb, resize_square
from rssi_ros.data.preprocess import PreprocessConfig
from rssi_ros.data.sample import Sample

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
IMAGES_FILE = "images.npy"
TABLE_FILE = "table.npz"
INDEX_FILE = "index.json"
NO_IMAGE = -1
# Hex digits of the SHA-256 fingerprint used as the folder name.
FINGERPRINT_CHARS = 20
# Decoding threads: cv2 releases the GIL, but the machines this runs on may have 2 cores.
DEFAULT_WORKERS = min(4, os.cpu_count() or 1)
DEFAULT_ROOT = Path(".cache") / "rssi_ros" / "images"
# Where the cache goes when no root is given (tests point it at a temporary folder).
CACHE_ENV = "RSSI_ROS_CACHE"


def default_root() -> Path:
    """$RSSI_ROS_CACHE, else .cache/rssi_ros/images under the working directory."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_ROOT)


TABLE_FLOAT_FIELDS = ("rssi_db", "rx_lat", "rx_lon", "tx_lat", "tx_lon", "stamp")
TABLE_INT_FIELDS = ("index", "seq_index")


def _image_size(size: int | PreprocessConfig) -> int:
    return size.image_size if isinstance(size, PreprocessConfig) else int(size)


def table_of(samples: Sequence[Sample]) -> dict[str, NDArray]:
    """The tabular fields of samples as arrays (NaN where a sample has no label)."""
    out: dict[str, NDArray] = {
        f: np.array([np.nan if getattr(s, f) is None else getattr(s, f) for s in samples], np.float64)
        for f in TABLE_FLOAT_FIELDS
    }
    out.update({f: np.array([getattr(s, f) for s in samples], np.int64) for f in TABLE_INT_FIELDS})
    out["scenario"] = np.array([s.scenario for s in samples], dtype=str)
    return out


def fingerprint(samples: Sequence[Sample], image_size: int | PreprocessConfig) -> str:
    """Hash of everything the cache content depends on (see the module docstring)."""
    h = hashlib.sha256()
    h.update(f"rssi_ros-image-cache v{FORMAT_VERSION} size={_image_size(image_size)}\n".encode())
    for name, column in sorted(table_of(samples).items()):
        h.update(name.encode())
        h.update(np.ascontiguousarray(column).tobytes())
    for s in samples:
        h.update(s.key.encode() + b"\0")
        if s.image is not None:
            h.update(b"pixels" + str(s.image.shape).encode() + np.ascontiguousarray(s.image).tobytes())
        elif s.image_path is not None:
            path = Path(s.image_path)
            try:
                st = path.stat()
                h.update(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
            except OSError:
                h.update(f"{path}|missing".encode())
        else:
            h.update(b"none")
    return h.hexdigest()[:FINGERPRINT_CHARS]


class ImageCache:
    """Read side of a built cache: resized images by sample key, and the tabular columns.

    Picklable for data-loader workers: the memory map is reopened lazily in each process.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        index = json.loads((self.folder / INDEX_FILE).read_text())
        if index.get("format") != FORMAT_VERSION:
            raise ValueError(f"{self.folder}: cache format {index.get('format')}, expected {FORMAT_VERSION}")
        self.image_size: int = int(index["image_size"])
        self.fingerprint: str = index["fingerprint"]
        self.keys: list[str] = list(index["keys"])
        self.failed: dict[str, str] = dict(index.get("failed", {}))
        with np.load(self.folder / TABLE_FILE) as t:
            self.table: dict[str, NDArray] = {k: t[k] for k in t.files}
        self._row_of = {k: int(r) for k, r in zip(self.keys, self.table["image_row"], strict=True)}
        self._images: NDArray[np.uint8] | None = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_images"] = None
        return state

    @property
    def images(self) -> NDArray[np.uint8]:
        """All cached images (n_images, size, size, 3), memory-mapped read-only."""
        if self._images is None:
            self._images = np.load(self.folder / IMAGES_FILE, mmap_mode="r")
        return self._images

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: str) -> bool:
        return self._row_of.get(key, NO_IMAGE) != NO_IMAGE

    def image(self, key: str) -> NDArray[np.uint8] | None:
        """Resized RGB image of a sample (a read-only view), or None when it has none."""
        if key not in self._row_of:
            raise KeyError(f"sample {key} is not in the cache {self.folder}")
        row = self._row_of[key]
        return None if row == NO_IMAGE else self.images[row]

    def stack(self, keys: Sequence[str]) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
        """Images of several samples as one array (zeros where missing) and the availability mask."""
        s = self.image_size
        out = np.zeros((len(keys), s, s, 3), np.uint8)
        mask = np.zeros(len(keys), bool)
        for i, key in enumerate(keys):
            img = self.image(key)
            if img is not None:
                out[i], mask[i] = img, True
        return out, mask


def _load_resized(sample: Sample, size: int) -> NDArray[np.uint8]:
    rgb = sample.image if sample.image is not None else load_rgb(sample.image_path)  # type: ignore[arg-type]
    return resize_square(rgb, size)


def _build(folder: Path, samples: Sequence[Sample], size: int, fp: str, workers: int, progress: bool) -> None:
    with_image = [i for i, s in enumerate(samples) if s.has_image]
    rows = np.full(len(samples), NO_IMAGE, dtype=np.int64)
    images = np.lib.format.open_memmap(
        folder / IMAGES_FILE, mode="w+", dtype=np.uint8, shape=(len(with_image), size, size, 3)
    )
    failed: dict[str, str] = {}

    def work(job: tuple[int, int]) -> tuple[int, int, str | None]:
        row, i = job
        try:
            images[row] = _load_resized(samples[i], size)
            return row, i, None
        except (OSError, ValueError) as exc:
            return row, i, str(exc)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        jobs = pool.map(work, enumerate(with_image))
        for row, i, error in tqdm(
            jobs, total=len(with_image), desc="caching images", unit="img", disable=not progress
        ):
            if error is None:
                rows[i] = row
            else:
                failed[samples[i].key] = error
                log.warning("cache: image of %s not cached (masked): %s", samples[i].key, error)
    images.flush()
    table = table_of(samples)
    table["image_row"] = rows
    np.savez(folder / TABLE_FILE, **table)
    index = {
        "format": FORMAT_VERSION,
        "fingerprint": fp,
        "image_size": size,
        "keys": [s.key for s in samples],
        "failed": failed,
        "n_images": int(np.count_nonzero(rows != NO_IMAGE)),
    }
    (folder / INDEX_FILE).write_text(json.dumps(index))


def open_cache(
    samples: Sequence[Sample],
    image_size: int | PreprocessConfig,
    root: str | Path | None = None,
    workers: int = DEFAULT_WORKERS,
    progress: bool = True,
) -> ImageCache:
    """The cache of these samples at this image size: reused when it exists, built otherwise.

    `root` None (or "") is `default_root()`. Images that cannot be decoded are logged, listed in
    `ImageCache.failed` and masked (None).
    """
    keys = [s.key for s in samples]
    if len(set(keys)) != len(keys):
        raise ValueError("sample keys must be unique to cache images by key")
    size = _image_size(image_size)
    fp = fingerprint(samples, size)
    folder = Path(root or default_root()) / fp
    if (folder / INDEX_FILE).is_file():
        log.info("image cache %s reused (%d samples)", folder, len(samples))
        return ImageCache(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{fp}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        log.info("building image cache %s (%d samples, %dx%d)", folder, len(samples), size, size)
        _build(tmp, samples, size, fp, workers, progress)
        try:
            tmp.rename(folder)
        except OSError:
            if not (folder / INDEX_FILE).is_file():
                raise
            log.info("image cache %s was built concurrently; using that one", folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return ImageCache(folder)
